"""Tests for emotion_core.report: the model card (its facts and its markdown) and the runs tables."""

import json
import shutil

import numpy as np
import pytest

from emotion_core import registry, report
from emotion_core.evaluation import classification_report
from emotion_core.labels import EMOTIONS
from tests.test_comparison import THREE, write_run


# --- The model card's facts -----------------------------------------------------------------------


def test_model_card_facts_come_from_the_run_files(isolated_dirs):
    config = {"arch": "vgg_gap", "epochs": 3, "optimizer": "adam", "batch_size": 32, "learning_rate": 0.001}
    run_dir = write_run(isolated_dirs["models"], "adam32", config, [0.5, 0.65, 0.7], "2026-01-02")

    card = report.model_card(registry.load_run(run_dir))

    assert card["val_accuracy"] == pytest.approx(0.7)  # no evaluation saved: the best epoch's figure
    assert card["val_macro_f1"] is None and card["evaluation"] == {}
    assert (card["model_mb"], card["parameters"], card["trained"]) == (1.0, 1000, "2026-01-02")
    assert (card["epochs"], card["best_epoch"], card["architecture"]) == (3, 3, "vgg_gap")
    assert card["recipe"] == {"epochs": 3, "optimizer": "adam", "batch_size": 32, "learning_rate": 0.001}

    y_true = np.array([0, 0, 0, 1, 1, 2])
    probabilities = np.full((6, 3), 0.1)
    probabilities[np.arange(6), [0, 0, 1, 1, 2, 2]] = 0.8  # 4 of 6 right
    registry.save_evaluation(run_dir, "validation", classification_report(y_true, probabilities, THREE))
    card = report.model_card(registry.load_run(run_dir))
    assert card["val_accuracy"] == pytest.approx(4 / 6)
    assert card["val_macro_f1"] == pytest.approx(59 / 90)


def test_the_card_file_states_the_facts_the_home_page_shows(trained_runs):
    run = registry.load_run(trained_runs["alpha"])
    card, text = report.model_card(run), report.model_card_text(run)

    assert f"Accuracy **{card['val_accuracy']:.2%}**, macro-F1 **{card['val_macro_f1']:.3f}**" in text
    assert f"**Parameters:** {card['parameters']:,};" in text and f"**model file:** {card['model_mb']:.1f} MB" in text
    assert f"Data set `{card['data']}` (fingerprint `{card['fingerprint']}`): {card['train_images']:,} training" in text
    choice = card["epoch_choice"]  # the template's best single-view epoch may not be its last
    kept_over = "" if not choice else (
        f" (kept over epoch {3 - card['best_epoch']} with off: "
        f"{choice['accuracy'][str(card['best_epoch'])]:.2%} against {choice['accuracy'][str(3 - card['best_epoch'])]:.2%})")
    assert f"best epoch {card['best_epoch']} of {card['epochs']}{kept_over}." in text


# --- The model card as markdown -------------------------------------------------------------------


def test_model_card_names_the_architecture_and_tables_every_class(trained_runs):
    card = (trained_runs["alpha"] / "MODEL_CARD.md").read_text()  # written by training, through report
    validation = json.loads((trained_runs["alpha"] / "evaluation" / "validation.json").read_text())

    assert card.startswith("# Model card: alpha")
    assert "**Architecture:** `vgg_gap_small`" in card
    assert "| class | precision | recall | F1 | support |" in card
    for name in EMOTIONS:
        row = next(line for line in card.splitlines() if line.startswith(f"| {name} |"))
        assert row.endswith("| 3 |")  # 3 validation images per class
    assert f"Accuracy **{validation['accuracy']:.2%}**" in card
    assert "Not for decisions about individuals" in card
    assert card == report.model_card_text(registry.load_run(trained_runs["alpha"]))


def test_model_card_of_a_run_kept_without_weights_says_so(trained_runs):
    run = trained_runs["alpha"]
    assert "not kept here" not in (run / "MODEL_CARD.md").read_text()

    (run / "model.keras").unlink()
    card = report.write_model_card(run).read_text()

    assert "(not kept here: a comparison run, its figures stay)" in card.splitlines()[3]


def test_model_card_states_a_warm_start_and_scaled_dropout(trained_runs):
    run = trained_runs["alpha"]
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "init_from": "beta", "dropout_scale": 0.5}))

    card = report.write_model_card(run).read_text()

    assert ", dropout x0.5, warm start from run `beta` (its epochs are not counted here)." in card


def test_model_card_says_a_narrower_net_was_cut_from_a_wider_one(trained_runs, isolated_dirs):
    write_run(isolated_dirs["models"], "wide", {"arch": "vgg_gap"}, [0.6], "2026-01-01")
    run = trained_runs["alpha"]  # a vgg_gap_small
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "init_from": "wide"}))

    card = report.write_model_card(run).read_text()

    assert ("warm start from run `wide`, cut down from its vgg_gap to the strongest channels "
            "(its epochs are not counted here)") in card


def test_a_run_not_evaluated_yet_says_so(isolated_dirs):
    run_dir = write_run(isolated_dirs["models"], "fresh", {"arch": "vgg_gap"}, [0.4], "2026-01-01")

    text = report.model_card_text(registry.load_run(run_dir))

    assert "## Results on the validation split\nNot evaluated yet." in text


# --- Runs tables ----------------------------------------------------------------------------------


def test_runs_table_marks_broken_runs(trained_runs):
    shutil.copytree(trained_runs["alpha"], trained_runs["alpha"].parent / "corrupt_model")
    (trained_runs["alpha"].parent / "corrupt_model" / "model.keras").write_bytes(b"half a file")
    (trained_runs["alpha"].parent / "no_config").mkdir()

    table = report.format_runs_table(registry.list_runs(), deployed="beta")

    assert table.count("    broken: ") == 2
    assert "    broken: model.keras is corrupt" in table and "    broken: no config.json" in table
    assert "\n* beta " in table and table.endswith("* deployed: beta")
    beta = registry.load_run(trained_runs["beta"])
    assert f"{beta.validation['accuracy']:.2%}" in next(line for line in table.splitlines() if line.startswith("* beta "))


def test_markdown_results_table_ranks_runs_by_validation_accuracy(trained_runs):
    registry.deploy("beta")
    runs = registry.list_runs()
    accuracy = {run.name: run.validation["accuracy"] for run in runs}

    lines = report.format_runs_markdown(runs, "beta").splitlines()

    assert lines[0].startswith("| run | validation accuracy | real-face proxy | macro-F1 |")
    assert len(lines) == 2 + len(runs)
    ranked = sorted(accuracy, key=accuracy.get, reverse=True)
    assert [line.split("`")[1] for line in lines[2:]] == ranked
    beta = next(line for line in lines if "`beta`" in line)
    assert "(deployed)" in beta and f"| {accuracy['beta']:.2%} |" in beta and "| vgg_gap_small | adam | 8 |" in beta


def test_markdown_results_table_names_the_run_a_warm_start_began_from(trained_runs):
    config = json.loads((trained_runs["beta"] / "config.json").read_text())
    (trained_runs["beta"] / "config.json").write_text(json.dumps({**config, "init_from": "alpha"}))

    lines = report.format_runs_markdown(registry.list_runs(), None).splitlines()

    assert "| 2/2 after `alpha` |" in next(line for line in lines if line.startswith("| `beta`"))
    assert "| 2/2 |" in next(line for line in lines if line.startswith("| `alpha`"))


def test_markdown_results_table_shows_the_real_face_proxy_beside_validation(trained_runs):
    # bench/proxy.py saves each run's whole-pipeline score on the proxy as this evaluation.
    (trained_runs["alpha"] / "evaluation" / "fer2013-proxy-validation.json").write_text(
        json.dumps({"accuracy": 0.5, "accuracy_all_photos": 0.4567, "photos": 100, "no_face": 3}))

    lines = report.format_runs_markdown(registry.list_runs(), None).splitlines()

    alpha = next(line for line in lines if line.startswith("| `alpha`")).split(" | ")
    beta = next(line for line in lines if line.startswith("| `beta`")).split(" | ")
    assert (alpha[1], alpha[2]) == (f"{registry.load_run(trained_runs['alpha']).accuracy:.2%}", "45.67%")
    # photos without a face found count as wrong; both accuracies to two places, as every one reads
    assert beta[2] == "-"  # not measured


def test_the_card_lists_the_runs_figures_on_other_labelled_sets(trained_runs):
    from emotion_core.scoring import evaluate_run
    from tests.conftest import make_image_dataset

    posed = make_image_dataset(trained_runs["data"].parent / "posed", {"test": 2}, class_names=("happy", "sad"))
    report = evaluate_run("alpha", str(posed), "test")

    card = (trained_runs["alpha"] / "MODEL_CARD.md").read_text()
    assert (f"- `posed` test: accuracy {report['accuracy']:.2%}, macro-F1 {report['macro_f1']:.3f} on 4 images "
            "(posed has no images of angry, disgust, fear, surprise, neutral: scored on the 4 images of the other "
            "2 classes, a prediction of one of them counts as wrong)") in card
