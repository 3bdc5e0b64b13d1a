"""Runs as people read them: the model card, and the runs tables of `runs list` and RESULTS.md.

    python -m emotion_core runs show deployed          # the model card
    python -m emotion_core runs list [--markdown]      # the plain-text or the markdown table

`model_card(run)` gathers a card's facts from the run folder once; `model_card_text` writes them as
the MODEL_CARD.md kept in the run folder, and the Home page shows the same facts with widgets.
The registry stores and scans run folders; nothing here writes anything but MODEL_CARD.md.
"""

from __future__ import annotations

from pathlib import Path

from .config import ADAPTATION_FILE
from .inference import tta_mode
from .labels import EMOTIONS
from .proxy import PROXY_EVALUATION
from .registry import MODEL_CARD_FILE, Run, load_run
from .storage import read_json
from .wording import accuracy

# The recipe choices a card states; the rest of the config is in the run's config.json.
RECIPE_KEYS = ("epochs", "optimizer", "learning_rate", "schedule", "batch_size", "augment", "class_weights",
               "label_smoothing", "dropout_scale", "init_from", "distill_from", "distill_weight")


# --- Model card -----------------------------------------------------------------------------------


def _choice_text(card: dict) -> str:
    """How the kept epoch was chosen, where the last epoch was weighed against the best single-view one."""
    choice = card.get("epoch_choice")
    if not choice:
        return ""
    other = choice["best_single_view_epoch"] if choice["kept"] == choice["last_epoch"] else choice["last_epoch"]
    scores = choice["accuracy"]
    return (f" (kept over epoch {other} with {tta_mode(choice['tta'])}: {accuracy(scores[str(choice['kept'])])} "
            f"against {accuracy(scores[str(other)])})")


def model_card(run: Run) -> dict:
    """What a model card states, from the run's own files; None where the files do not say."""
    config, info, dataset, validation = run.config, run.info, run.dataset, run.validation
    best = run.best_epoch or {}
    return {
        "run": run.name,
        "architecture": info.get("architecture") if run.members else config.get("arch") or info.get("architecture"),
        "members": run.members,  # the runs an ensemble averages; [] for a trained run
        "description": info.get("description", ""),
        "parameters": info.get("parameters"),
        "multiply_adds": info.get("multiply_adds"),
        "model_mb": run.model_mb,
        "model_files": run.model_files,  # what model_mb measures: "Model file", or an ensemble's "Members' files"
        "weights": run.has_weights,  # False for a comparison-only run: its figures stay, its file does not
        "trained": (run.status.get("ended") or run.status.get("started") or "")[:10] or None,
        "epochs": len(run.history),
        # An ensemble's members' epochs (a member moved out of the registry counts 0), in member order.
        "member_epochs": [len(load_run(run.path.parent / member).history) for member in run.members],
        "best_epoch": best.get("epoch"),
        "epoch_choice": info.get("epoch_choice"),  # best single-view epoch against the last (training.py)
        "recipe": {key: config[key] for key in RECIPE_KEYS if key in config},
        "classes": run.classes,  # the model's outputs, in order
        "used_counts": dataset.get("used_counts"),  # {split: {class: images}} trained on; None before class sets
        "data": dataset.get("name"),
        "fingerprint": dataset.get("fingerprint"),
        "train_images": dataset.get("train_images"),
        "validation_images": dataset.get("validation_images"),
        "validation_source": dataset.get("validation_source"),
        "val_accuracy": run.accuracy,  # evaluated when saved; the best epoch's Keras val accuracy otherwise
        "val_macro_f1": validation.get("macro_f1"),
        "evaluation": validation,  # the saved validation report, {} before the run is evaluated
        "other_sets": other_sets_figures(run),  # its figure on each test set, one sentence each
    }


def origin_text(card: dict) -> str:
    """How the model came to be, as a clause the data set follows ("... on `fer2013`"): a trained
    run's date and epochs, or an ensemble's date and members (it trained no epochs of its own)."""
    when = card["trained"] or "at an unknown date"
    if not card["members"]:
        return f"Trained {when} for {card['epochs']} epochs"
    members = " and ".join(f"`{member}`" for member in card["members"])
    epochs = sorted(set(card["member_epochs"]))
    trained = (f"each trained for {epochs[0]} epochs" if len(epochs) == 1
               else f"trained for {', '.join(map(str, card['member_epochs']))} epochs")
    return f"Made {when} as the average of {members} ({trained})"


def calibration_text(validation: dict, calibration: dict) -> str:
    """The card's sentence on calibration: ECE on validation, before and after `runs calibrate`."""
    figures = validation.get("reliability")
    if not figures:
        return "Calibration not measured yet (evaluated before calibration was): `evaluate RUN` measures it."
    text = (f"Calibration: expected calibration error (ECE, 15 bins) **{figures['ece']:.3f}**, mean confidence "
            f"{accuracy(figures['mean_confidence'])} at accuracy {accuracy(figures['accuracy'])}")
    if not calibration:
        return text + "; not calibrated (`python -m emotion_core runs calibrate RUN` fits a temperature)."
    check = calibration.get("ece_after_two_fold")
    return (text + f", with temperature {calibration['temperature']:.3f} fitted on this split (Guo et al. 2017), "
            "applied to the log of the probabilities averaged over the TTA views: ECE "
            f"{calibration['ece_before']:.3f} before, {calibration['ece_after']:.3f} after"
            + (f" ({check:.3f} when each half is scored with the temperature fitted on the other)" if check is not None
               else "") + ".")


def other_sets_figures(run: Run) -> list[str]:
    """The run's figures on labelled sets other than its own (the test sets, `evaluate RUN --data
    NAME`), one sentence each; a set of photos with its photos where no face was found."""
    return [f"`{report['data']}` {report['split']}: " + _other_set_figures(report)
            + (f" ({report['note']})" if report.get("note") else "")
            for key, report in sorted(run.evaluations.items())
            if key not in ("validation", "test") and key == f"{report.get('data')}-{report.get('split')}"]


def other_sets_lines(run: Run) -> list[str]:
    """The card's lines on the run's figures on other labelled sets; none when it has none."""
    lines = other_sets_figures(run)
    return ["", "On other labelled sets (the Models page's test sets; `python -m emotion_core testsets add FOLDER|ZIP`):",
            *(f"- {line}" for line in lines)] if lines else []


def _other_set_figures(report: dict) -> str:
    if report.get("faces") != "detect":
        return f"accuracy {accuracy(report['accuracy'])}, macro-F1 {report['macro_f1']:.3f} on {report['n']:,} images"
    counted = report["photos"] - report.get("unreadable", 0)
    return (f"accuracy {accuracy(report['accuracy_all_photos'])} of {counted:,} photos, no face found on "
            f"{report['no_face']:,} ({report['no_face'] / max(1, counted):.1%}) counted as wrong; on the "
            f"{report['n']:,} with a face {accuracy(report['accuracy'])}, macro-F1 {report['macro_f1']:.3f}")


def adaptation(run: Run) -> dict:
    """What a fine-tune on the user's own faces recorded (training.adaptation_report); {} for other runs."""
    path = run.path / ADAPTATION_FILE
    return read_json(path) if path.is_file() else {}


def adaptation_rows(record: dict) -> list[dict]:
    """A fine-tune's figures side by side, as people read them: the run it started from, itself, and
    the change, each on the user's held-out faces and on validation (accuracy in %, macro-F1)."""
    figures = {}
    for when, name in (("before", record["start_run"]), ("after", record.get("run", "this run"))):
        figures[f"{when}: {name}"] = {f"{label} {metric_label}": record[when][key][metric]
                                      for key, label in (("own_faces", "your faces"), ("validation", "validation"))
                                      for metric, metric_label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"))}
    before, after = figures.values()
    figures["change"] = {key: after[key] - before[key] for key in after}
    return [{"": row, **{key: _adaptation_cell(key, value, row == "change") for key, value in values.items()}}
            for row, values in figures.items()]


def _adaptation_cell(key: str, value: float, change: bool) -> str:
    if "accuracy" in key:
        return f"{value * 100:+.2f} points" if change else accuracy(value)
    return f"{value:+.3f}" if change else f"{value:.3f}"


def adaptation_lines(run: Run) -> list[str]:
    """The card's section on a fine-tune on the user's own faces: what adapting gained and cost."""
    record = adaptation(run)
    if not record:
        return []
    rows = adaptation_rows({**record, "run": run.name})
    return ["", f"Adapted to your own faces `{record['own_faces']}`: {record['trained_on']} of them trained on, "
                f"{record['share']:.1%} of the training images (repeated), {record['held_out']} held out (seed "
                f"{record['seed']}), never trained on. Scored on those and on {record['before']['validation']['n']:,} "
                f"validation images, before and after:",
            "", "| " + " | ".join(rows[0]) + " |", "|---|---:|---:|---:|---:|",
            *("| " + " | ".join(row.values()) + " |" for row in rows)]


def write_model_card(run_dir: Path) -> Path:
    """Generate MODEL_CARD.md from the run's own files: use, data, results, limits."""
    text = model_card_text(load_run(run_dir))
    path = Path(run_dir) / MODEL_CARD_FILE
    path.write_text(text)
    return path


def _recipe_extras(recipe: dict, run: Run) -> str:
    """The recipe choices a card mentions only when they differ from the plain default."""
    extras = []
    if recipe.get("dropout_scale", 1.0) != 1.0:
        extras.append(f"dropout x{recipe['dropout_scale']:g}")
    if recipe.get("init_from"):
        source_arch = _architecture_of(run.path.parent / recipe["init_from"])
        cut = (f", cut down from its {source_arch} to the strongest channels"
               if source_arch and source_arch != run.config.get("arch") else "")
        extras.append(f"warm start from run `{recipe['init_from']}`{cut} (its epochs are not counted here)")
    if recipe.get("distill_from"):
        extras.append(f"distilled from run `{recipe['distill_from']}` (its probabilities are "
                      f"{recipe.get('distill_weight', 0.5):.0%} of each target)")
    return "".join(f", {extra}" for extra in extras)


def _architecture_of(run_dir: Path) -> str:
    """The architecture a run in the same registry was trained as; empty when it is not there
    (load_run never raises: a moved or broken source run has no config)."""
    return (load_run(run_dir).config or {}).get("arch", "")


def _subset_note(classes) -> str:
    """For a run on a subset of the classes: what it does with a face showing one of the others."""
    others = [name for name in EMOTIONS if name not in classes]
    if not others:
        return ""
    return (f" It was trained without {', '.join(others)}: a face showing one of those is still given "
            "one of its own classes, so use it where those expressions do not occur or do not matter.")


def _used_counts_text(used_counts: dict | None) -> str:
    if not used_counts:
        return ""
    splits = "; ".join(f"{split}: " + ", ".join(f"{name} {count:,}" for name, count in counts.items())
                       for split, counts in used_counts.items())
    return f" Images per class used ({splits})."


def model_card_text(run: Run) -> str:
    """The model card as markdown: what MODEL_CARD.md holds and `runs show` prints."""
    card = model_card(run)
    recipe, validation = card["recipe"], card["evaluation"]
    lines = [
        f"# Model card: {card['run']}",
        "",
        (f"**Ensemble:** the average of {', '.join(f'`{m}`' for m in card['members'])}'s probabilities; its cost "
         "per face is the sum of theirs, and its Grad-CAM the average of their maps."
         if card["members"] else f"**Architecture:** `{card['architecture']}`: {card['description']}"),
        f"**Parameters:** {card['parameters'] or 0:,}; **multiply-adds per face:** "
        f"{(card['multiply_adds'] or 0) / 1e6:.1f} M; **{card['model_files'].lower()}:** {card['model_mb'] or 0:.1f} MB"
        + ("" if card["weights"] else " (not kept here: a comparison run, its figures stay)"),
        "",
        "## Intended use",
        f"Classifying the expression of a single, roughly frontal face crop into one of {len(card['classes'])} "
        f"emotions ({', '.join(card['classes'])}), for exploring and demonstrating facial expression recognition "
        "and for aggregate analysis of many faces. Not for decisions about individuals (hiring, policing, "
        "health, education): an expression is not an inner state, and the labels are noisy."
        + _subset_note(card["classes"]),
        "",
        "## Training data",
        f"Data set `{card['data']}` (fingerprint `{card['fingerprint']}`): "
        f"{card['train_images'] or 0:,} training images, validation from the "
        f"{card['validation_source'] or '?'} ({card['validation_images'] or 0:,} images)."
        + _used_counts_text(card["used_counts"]),
        ("Not trained itself: each member's recipe is in its own card." if card["members"] else
         f"Recipe: {recipe.get('epochs')} epochs, {recipe.get('optimizer')} lr {recipe.get('learning_rate')} "
         f"({recipe.get('schedule')}), batch {recipe.get('batch_size')}, augmentation "
         f"{'on' if recipe.get('augment') else 'off'}, class weights {recipe.get('class_weights')}, "
         f"label smoothing {recipe.get('label_smoothing')}{_recipe_extras(recipe, run)}. Full config in `config.json`."),
        "",
        "## Results on the validation split",
    ]
    if validation:
        lines += [
            f"Accuracy **{accuracy(validation['accuracy'])}**, macro-F1 **{validation['macro_f1']:.3f}**, "
            f"macro AUC {validation['roc']['macro_auc']:.3f} on {validation['n']:,} images "
            f"(test-time augmentation: {tta_mode(validation.get('tta'))})"
            + ("" if card["members"] else f"; best epoch {card['best_epoch']} of {card['epochs']}{_choice_text(card)}")
            + ". The test split was not used for any choice.",
            "",
            "| class | precision | recall | F1 | support |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, scores in validation["per_class"].items():
            lines.append(f"| {name} | no images | | | 0 |" if scores["f1"] is None else
                         f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | "
                         f"{scores['f1']:.3f} | {scores['support']} |")
        lines += ["", calibration_text(validation, run.calibration), *other_sets_lines(run), *adaptation_lines(run)]
    else:
        lines.append("Not evaluated yet.")
    lines += [
        "",
        "## Known limits",
        "- FER2013 is 48x48 grayscale web images, mostly of white adults, posed or exaggerated; "
        "accuracy on other groups, lighting and real camera photos is lower and was not measured here.",
        *(["- Disgust has about 1.5% of the training images; its scores are the least reliable."]
          if "disgust" in card["classes"] else []),
        "- The data set holds duplicates, some across splits, and some mislabeled or non-face images; "
        "validation figures carry that noise.",
        "- Faces are found by the YuNet CNN (the Haar cascade on request) and turned upright on their eye line; "
        "faces turned far from the camera, heavily occluded or under 6% of the photo are missed.",
        "",
    ]
    return "\n".join(lines)


# --- Runs tables ----------------------------------------------------------------------------------


def _cell(value, spec: str, width: int) -> str:
    """A formatted table cell, or a dash of the same width when the value is missing."""
    return format("-" if value is None else value, f">{width}" if value is None else spec)


def format_runs_markdown(runs: list[Run], deployed: str | None) -> str:
    """The results table of RESULTS.md: validation figures, recipe, size, cost, hardware and class set
    of each run, best validation accuracy first (runs without a validation evaluation last).

    Accuracy over 3 classes is not comparable with accuracy over 7: the last column says which.
    The real-face proxy (proxy.py) is the same validation faces in photo-like frames, through the
    whole pipeline; a photo whose face is not found counts as wrong.
    """
    header = ("| run | validation accuracy | real-face proxy | macro-F1 | macro AUC | TTA | architecture | optimizer "
              "| batch | colour | augment | epochs | parameters | multiply-adds | training time | hardware | classes |")
    lines = [header, "|---|---:|---:|---:|---:|:-:|---|---|---:|---|:-:|---:|---:|---:|---:|---|---|"]
    ranked = sorted(runs, key=lambda run: -(run.validation.get("accuracy") or -1))
    for run in ranked:
        row, validation = run.summary_row(), run.validation
        auc = (validation.get("roc") or {}).get("macro_auc")
        name = f"`{run.name}`" + (" (deployed)" if run.name == deployed else "")
        lines.append(" | ".join([
            f"| {name}", accuracy(validation.get("accuracy")),
            accuracy(run.evaluations.get(PROXY_EVALUATION, {}).get("accuracy_all_photos")),
            _number(validation.get("macro_f1"), ".3f"),
            _number(auc, ".3f"), row["tta"] or "-",
            str(row["architecture"]), str(row["optimizer"]), str(row["batch_size"]), str(row["color_mode"] or "-"),
            {True: "on", False: "off"}.get(row["augment"], "-"), _epochs_text(run, row),
            _millions(row["parameters"]), _millions(row["multiply_adds"]), _training_text(run, row),
            f"{run.info.get('hardware', '-')}, {run.info.get('backend', '-')}", f"{row['classes']} |"]))
    return "\n".join(lines)


def _epochs_text(run: Run, row: dict) -> str:
    if run.members:  # not trained itself: its members' rows say how they were
        return "its members'"
    done = f"{row['epochs']}/{row['epochs_planned']}"
    return f"{done} after `{row['warm_start_from']}`" if row["warm_start_from"] else done


def _training_text(run: Run, row: dict) -> str:
    return "its members'" if run.members else f"{row['training_minutes']:.0f} min"


def _number(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _millions(value) -> str:
    return "-" if value is None else f"{value / 1e6:.2f} M"


def format_runs_table(runs: list[Run], deployed: str | None) -> str:
    """The plain-text table of `runs list`."""
    header = (f"{'':2}{'run':<38}{'state':<12}{'arch':<24}{'epochs':>8}{'best val':>10}{'val acc':>9}"
              f"{'F1':>7}{'params':>11}{'weights':>9}  classes")
    lines = [header]
    for run in runs:
        row = run.summary_row()
        mark = "* " if run.name == deployed else "  "
        lines.append(
            f"{mark}{row['run']:<38}{row['state']:<12}{str(row['architecture']):<24}"
            f"{row['epochs']:>4}/{_cell(row['epochs_planned'], '<3', 3)}"
            f"{accuracy(row['best_val_accuracy']):>10}{accuracy(row['val_accuracy']):>9}"
            f"{_cell(row['val_macro_f1'], '>7.3f', 7)}{_cell(row['parameters'], '>11,', 11)}"
            f"{'yes' if row['weights'] else 'no':>9}  {row['classes']}"
        )
        if run.problem:
            lines.append(f"    broken: {run.problem}")
    if deployed:
        lines.append(f"\n* deployed: {deployed}")
    return "\n".join(lines)
