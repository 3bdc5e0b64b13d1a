"""Models: compare training runs side by side and choose the one the app deploys."""

import streamlit as st

from emotion_core import comparison, registry, testsets
from emotion_core.datasets import DatasetError
from emotion_core.jobs import ACTIVE, list_jobs, scoring_job, start_scoring
from emotion_core.inference import tta_mode
from emotion_core.labels import class_set_name
from emotion_core.serving import export
from emotion_core.wording import accuracy
from ui import charts
from ui.common import (admin_ui, admin_unlocked, available_datasets, labelled_sets, locked_hint, no_dataset_hint,
                       wide_and_narrow)

MODEL_MB_HELP = "Size of the model file; an ensemble's is its members' files together (it keeps only their names)"
TABLE_COLUMNS = {
    "deployed": st.column_config.CheckboxColumn("deployed", width="small"),
    "accuracy": st.column_config.NumberColumn("accuracy", format="percent",
                                              help="Validation accuracy: the run's evaluation where saved (with its "
                                                   "test-time augmentation), else its best epoch's while training"),
    "accuracy_from": st.column_config.TextColumn("figures from", help="Where each run's accuracy comes from; an "
                                                 "ensemble trained no epochs itself, so its curves are its members'"),
    "epochs": st.column_config.TextColumn("epochs", help="Trained of planned; an ensemble's are its members'"),
    "batch_size": "batch", "color_mode": "colour",
    "best_val_accuracy": st.column_config.NumberColumn("best epoch's val acc", format="percent"),
    "best_epoch": "at epoch", "best_val_loss": st.column_config.NumberColumn("best val loss", format="%.4f"),
    "val_accuracy": st.column_config.NumberColumn("val acc (eval)", format="percent"),
    "val_macro_f1": st.column_config.NumberColumn("macro-F1", format="%.3f"),
    "parameters": st.column_config.NumberColumn("parameters", format="localized"),
    "model_mb": st.column_config.NumberColumn("MB", format="%.2f", help=MODEL_MB_HELP),
    "training_minutes": st.column_config.NumberColumn("train min", format="%.1f",
                                                      help="Training time; an ensemble's is its members' together"),
    "warm_start_from": "warm start from",
    "members": "ensemble of",
}
# The phone's runs table: 358 px between the margins of a 390 px screen, the run's name widest.
COMPACT_TABLE_COLUMNS = {
    "run": st.column_config.TextColumn("run", width=190),
    "deployed": st.column_config.CheckboxColumn("✓", width=32, help="Deployed"),
    "accuracy": st.column_config.NumberColumn("accuracy", format="percent", width=74,
                                              help=TABLE_COLUMNS["accuracy"].get("help")),
    "model_mb": st.column_config.NumberColumn("MB", format="%.1f", width=50, help=MODEL_MB_HELP),
}
LABELS = {"batch_size": "batch size", "color_mode": "colour", "augment": "augmentation"}
HIGHLIGHT = "background-color: rgba(255, 200, 0, 0.35)"
# Set by a successful Deploy for the rerun that follows, so the section opens to confirm it.
JUST_DEPLOYED_KEY = "models.just_deployed"
JUST_SET_LIVE_KEY = "models.just_set_live"  # the same for the model for live use
ALL_CLASS_SETS = "every class set"
NOT_COMPARABLE = ("Accuracy over three classes is not comparable with accuracy over seven (chance alone is "
                  "33% against 14%)")
JUST_ADDED_SET_KEY = "models.just_added_set"  # set by Add for the rerun that follows, to say so
POLL_SECONDS = 3  # how often the test-set table is redrawn while a scoring runs
SET_SOURCES = {"zip": "an uploaded .zip", "folder": "a folder under the data root"}
SET_KINDS = {"auto": "guessed from their sizes", "crops": "face crops (scored as they are)",
             "photos": "photos (each one's face found first)"}
TEST_SET_HELP = {"accuracy": "Share of the set's images read right; for photos, a photo without a face found counts "
                             "as wrong", "macro-F1": "F1 averaged over the classes the set has images of",
                 "no face": "Share of the photos where no face was found"}


def runs_table_ui(frame):
    """The filterable runs table (by text, and by class set when runs learned different ones) and its
    CSV export; returns the rows shown."""
    sets = comparison.class_sets(frame)
    left, middle, right = st.columns([5, 3, 2], vertical_alignment="bottom")
    text = left.text_input("Filter", placeholder="run name, architecture, class, optimizer or colour mode")
    class_set = None
    if len(sets) > 1:
        class_set = middle.selectbox("Class set", [ALL_CLASS_SETS, *sets], help=NOT_COMPARABLE + ".")
    shown = comparison.filter_runs(frame, text, include_broken=right.toggle("Show broken runs", value=True),
                                   class_set=None if class_set == ALL_CLASS_SETS else class_set)
    wide, narrow = wide_and_narrow("runs-table")  # a phone shows no accuracy without scrolling sideways
    # a run still training, or one without an evaluation, has no figures yet: a dash, not "None"
    wide.dataframe(shown, hide_index=True, column_config=TABLE_COLUMNS, placeholder="—")
    narrow.dataframe(shown[comparison.COMPACT_COLUMNS], hide_index=True, column_config=COMPACT_TABLE_COLUMNS,
                     placeholder="—")
    st.download_button("Download table as CSV", shown.to_csv(index=False), "runs.csv", "text/csv",
                       icon=":material/download:")
    return shown


def promote_ui(runs, deployed):
    just_deployed = st.session_state.pop(JUST_DEPLOYED_KEY, None)
    if just_deployed:
        st.success(f"{just_deployed} is deployed: Predict, Analyze and the command line serve it now.")
    history = registry.deployment_record().get("history", [])
    before = f" (before it: **{history[0]['run']}**)" if history else ""
    st.markdown(f"Deployed now: **{deployed or 'none'}**{before}")
    candidates = comparison.deployable_runs(runs)
    if not candidates:
        st.caption("No complete run with a model file to deploy yet.")
        return
    others = [name for name in candidates if name != deployed]
    choice = st.selectbox("Run to deploy", others + [name for name in candidates if name == deployed])
    confirmed = st.checkbox(f"Yes, serve {choice} in place of {deployed or 'nothing'}", key="confirm_deploy")
    allowed = admin_ui()  # deploying changes what every user is served
    if not allowed:
        locked_hint("Deploying")
    if st.button("Deploy", type="primary", disabled=not confirmed or choice == deployed or not allowed) and allowed:
        try:
            registry.deploy(choice)
        except registry.RunError as error:
            st.error(str(error))
        else:
            st.session_state[JUST_DEPLOYED_KEY] = choice  # keeps this section open to say so
            st.rerun()  # the sidebar, the table's mark and this section all follow the pointer


def live_model_ui(runs, deployed):
    """The run the Live page uses (the `live` alias): the deployed one until another is set."""
    just_set = st.session_state.pop(JUST_SET_LIVE_KEY, None)
    if just_set:
        st.success(f"{just_set} is the model for live use: the Live page runs it now.")
    live = registry.aliases()[registry.LIVE]
    shown = live or (f"the deployed one, {deployed}" if deployed else "none, as nothing is deployed")
    st.markdown(f"Model for live use (the Live page): **{shown}**")
    candidates = comparison.deployable_runs(runs)
    if not candidates:
        return
    choice = st.selectbox("Run for live use", candidates, index=candidates.index(live) if live in candidates else 0,
                          help="A camera sends 15 frames a second: a smaller model (vgg_gap_small reads a face "
                               "at a quarter of vgg_gap's cost) keeps the stream smooth on a small server.")
    allowed = admin_unlocked()  # the same password as Deploy; promote_ui drew its box in the sidebar
    if not allowed:
        locked_hint("Choosing the live model")
    if st.button("Use for Live", disabled=choice == live or not allowed) and allowed:
        try:
            registry.deploy(choice, alias=registry.LIVE)
        except registry.RunError as error:
            st.error(str(error))
        else:
            st.session_state[JUST_SET_LIVE_KEY] = choice
            st.rerun()


def config_diff_ui(chosen, key: str):
    """The recipes of the chosen runs, option by option, the options that differ highlighted."""
    differing = comparison.differing_config_keys(chosen)
    config = comparison.config_frame(chosen)
    if st.toggle("Only options that differ", value=len(chosen) > 1, key=f"{key}-differ"):
        config = config.loc[[option for option in config.index if option in differing]]
    styled = config.style.apply(lambda row: [HIGHLIGHT if row.name in differing else ""] * len(row), axis=1)
    st.dataframe(styled)
    st.caption(f"Differ: {', '.join(differing) or 'nothing'}")


def mixed_class_sets_note(chosen) -> None:
    """One caption when the runs compared learned different class sets."""
    sets = sorted({class_set_name(run.classes) for run in chosen})
    if len(sets) > 1:
        st.caption(f":material/warning: These runs learned different class sets ({'; '.join(sets)}). "
                   f"{NOT_COMPARABLE}.")


def class_set_scope_ui(runs, frame):
    """With runs of several class sets, a choice of one: (its runs, its rows of `frame`)."""
    sets = comparison.class_sets(frame)
    if len(sets) < 2:
        return runs, frame
    chosen = st.radio("Class set", sets, horizontal=True, help=NOT_COMPARABLE + ": every chart and table below "
                      "compares runs of one class set.")
    scoped = frame[frame["classes"] == chosen]
    st.caption(f"{len(scoped)} of {len(frame)} runs learned {chosen} classes; pick another class set above "
               "for the others.")
    return [run for run in runs if class_set_name(run.classes) == chosen], scoped


def overview_ui(runs, frame):
    """Every run of one class set at once: val accuracy by epoch, best accuracy by recipe choice, the extremes."""
    runs, frame = class_set_scope_ui(runs, frame)
    by_epoch = comparison.val_accuracy_by_epoch(runs)
    if by_epoch.empty:
        st.caption("No run has finished an epoch yet.")
        return
    st.altair_chart(charts.accuracy_heatmap(by_epoch))
    by = st.radio("Group by", comparison.GROUPINGS, horizontal=True, format_func=lambda key: LABELS.get(key, key))
    st.altair_chart(charts.accuracy_boxes(comparison.group_best_accuracy(frame, by), by))
    like = comparison.like_for_like(runs, by)
    st.markdown(f"**Like for like**: runs whose recipes differ only in {LABELS.get(by, by)}")
    if like.empty:
        st.caption("No two runs differ in this alone (same data, architecture, epochs and other settings); "
                   "the boxes above mix every run that has each value.")
    else:
        st.dataframe(like, hide_index=True, column_config=TABLE_COLUMNS)
    best, worst = comparison.best_and_worst(frame, n=3)
    left, right = st.columns(2)
    left.markdown("**Best runs**")
    left.dataframe(best, hide_index=True, column_config=TABLE_COLUMNS)
    right.markdown("**Worst runs**")
    right.dataframe(worst, hide_index=True, column_config=TABLE_COLUMNS)


def latest_scoring():
    """The newest job scoring the runs on the test sets (with its progress or results), or None."""
    return next(iter(list_jobs(kind=scoring_job.KIND)), None)


def test_sets_ui():
    """The runs on each test set beside FER2013 validation, kept scored in the background, and adding a set."""
    st.markdown("**On your test sets**")
    try:
        sets = testsets.list_sets()
    except DatasetError as error:  # a hand-edited testsets.json that does not parse
        st.error(str(error))
        return
    just_added = st.session_state.pop(JUST_ADDED_SET_KEY, None)
    if just_added:
        st.success(f"{just_added} is a test set: every complete run with weights is being scored on it in the "
                   "background.")
    latest = latest_scoring()
    allowed = admin_unlocked()  # scoring writes each run's figures into its folder
    if allowed and scoring_job.scoring_due(latest):
        latest = start_scoring()
    active = latest is not None and latest["status"] in ACTIVE
    st.fragment(test_sets_table_ui, run_every=POLL_SECONDS if active else None)(sets, active)
    add_test_set_ui(sets, allowed)


def test_sets_table_ui(sets, was_scoring: bool):
    """The table of runs x test sets, ranked by the user's pick, and the background scoring's state;
    redrawn every few seconds while a scoring runs, and the whole page once it ends."""
    latest = latest_scoring()
    if was_scoring and (latest is None or latest["status"] not in ACTIVE):
        st.rerun()  # finished: the page (model cards, side by side) reads the new figures; no more polling
    table = comparison.test_sets_frame(registry.list_runs(), labelled_sets(), sets)
    rankings = comparison.test_set_rankings(table)
    rank_by = st.selectbox("Rank runs by", rankings, key="testsets.rank", help="Click a column's header to sort by "
                           "any other figure.") if len(rankings) > 1 else None
    table = comparison.rank_test_sets(table, rank_by) if rank_by else table
    scoring = latest is not None and latest["status"] in ACTIVE
    st.dataframe(table, hide_index=True, placeholder=comparison.unscored_text(scoring), column_config={
        column: st.column_config.NumberColumn(
            format="percent" if column.endswith(("accuracy", "no face")) else "%.3f",
            help=next(text for end, text in TEST_SET_HELP.items() if column.endswith(end)))
        for column in table.columns if column not in ("run", "classes")})
    scoring_state_ui(latest, sets)


def scoring_state_ui(latest, sets) -> None:
    """One line on the background scoring: under way, finished (with runs that could not be scored), or locked."""
    if not sets:
        st.caption("Add a labelled set of your own faces below: every run is then scored on it, and "
                   f"{comparison.SCORING} or {comparison.NOT_SCORED} marks a run not scored on a set yet.")
        return
    if latest is None:
        locked_hint("Scoring the runs on your test sets")
        return
    if latest["status"] in ACTIVE:
        done = f", {latest['progress']:.0%}" if latest["progress"] is not None else ""
        st.caption(f":material/progress_activity: Scoring the runs in the background ({latest['progress_text']}{done}): "
                   "figures appear as they are saved.")
    elif latest["status"] == "failed":
        st.warning(f"The last scoring stopped: {latest['reason']}", icon=":material/warning:")
    else:
        st.caption(f"Every complete run with weights scored on each set ({scoring_job.summary(latest['results'])}; "
                   f"{str(latest['ended'])[:16].replace('T', ' ')} UTC). A changed set, or a retrained or recalibrated "
                   "run, is scored again; the others are not.")
        for result in latest["results"]:
            for run, reason in result["failed"].items():
                st.caption(f":material/info: {result['set']}: {'' if run == '*' else run + ': '}{reason}")


def add_test_set_ui(sets, allowed: bool) -> None:
    """Add a test set: an uploaded .zip of class folders, or a labelled folder already under the data root."""
    registered = {testset.name for testset in sets}
    with st.popover("Add a test set", icon=":material/add:"):
        source = st.radio("From", list(SET_SOURCES), format_func=SET_SOURCES.get, horizontal=True, key="testsets.source")
        if source == "zip":
            limit = st.get_option("server.maxUploadSize")  # the server refuses more, whatever a widget says
            upload = st.file_uploader("A .zip of class folders (happy/, sad/, ... of face crops or photos)", type=["zip"],
                                      key="testsets.upload", help=f"Up to {limit} MB here (the app's "
                                      "`server.maxUploadSize`). A larger set: put its folder under the data root and "
                                      "pick it here, or `python -m emotion_core testsets add ZIP`.")
            name = st.text_input("Name", placeholder=upload.name.rsplit(".", 1)[0] if upload else "the file's name",
                                 key="testsets.name")
            chosen = upload is not None
        else:
            folders = [folder for folder in labelled_sets() if folder not in registered]
            folder = st.selectbox("Folder", folders, key="testsets.folder",
                                  help="Labelled folders under the data root: class folders in test/ (or validation/).")
            chosen = folder is not None
        kind = st.radio("The images are", [testsets.AUTO, *testsets.KINDS], format_func=SET_KINDS.get,
                        key="testsets.kind", help="Photos are scored as the app reads a photo: each one's most "
                        "confident face is found, turned upright and cropped; photos without a face count as wrong.")
        if not allowed:
            locked_hint("Adding a test set")
        if st.button("Add and score every run", type="primary", disabled=not (allowed and chosen)) and allowed:
            try:
                testset = (testsets.add_zip(upload.name, upload.getvalue(), name or None, kind) if source == "zip"
                           else testsets.add_folder(folder, kind))
            except (DatasetError, OSError) as error:
                st.error(f"Not added: {error}")
                return
            start_scoring()
            st.session_state[JUST_ADDED_SET_KEY] = testset.name
            st.rerun()
        st.caption("Or on the command line: `python -m emotion_core testsets add FOLDER|ZIP [--kind photos]`.")


def exports_ui(runs, deployed):
    """A run's exported files (`python -m emotion_core export`) as downloads, with their check's figures."""
    names = [run.name for run in runs if run.has_weights and not run.problem]
    if not names:
        st.caption("No run with a model file to export yet.")
        return
    name = st.selectbox("Exports of run", names, index=names.index(deployed) if deployed in names else 0,
                        key="exports_run")
    run = next(run for run in runs if run.name == name)
    found = export.list_exports(run.path / export.EXPORTS_DIR)
    if not found:
        st.caption(f"Nothing exported yet: `python -m emotion_core export {name} --format litert` (or onnx, "
                   "savedmodel; `--quantize int8` for litert) writes a checked file here.")
        return
    rows = export.export_rows(found)
    st.dataframe(rows, hide_index=True, column_config={
        "top label agreement": st.column_config.NumberColumn(format="percent"),
        "max diff": st.column_config.NumberColumn(format="%.1e")})
    shape = "x".join(str(side) for side in found[0]["input"]["shape"][1:])
    st.caption(f"Each file was checked against the Keras model before it was kept. Input: faces of {shape} "
               "pixels in 0..255; output: the run's class probabilities for one view of a face (the app averages "
               "the views of the run's TTA mode, `tta` in the .json). Every figure is in the .json beside the file.")
    for record, row in zip(found, rows):
        st.download_button(row["file"], lambda path=record["path"]: export.download_bytes(path), row["file"],
                           "application/octet-stream", key=f"export-{name}-{row['file']}", on_click="ignore",
                           icon=":material/download:")


def evaluation_ui(run, choice, normalised):
    """One run's saved figures on an evaluation choice (comparison.EvaluationChoice), or a button
    that computes and saves them."""
    st.subheader(run.name)
    report = run.evaluations.get(choice.key)
    if report is None:
        if not run.has_weights or run.problem:
            st.info(run.problem or "No model file (a comparison-only run): nothing to evaluate.")
            return
        if choice.data in {testset.name for testset in testsets.list_sets()}:  # photos are scored through detection
            st.caption(f"Not scored on {choice.label} yet: test sets are scored in the background (Deployed model, "
                       "On your test sets).")
            return
        if not st.button(f"Evaluate on {choice.label}", key=f"evaluate-{run.name}-{choice.key}"):
            st.caption(f"Not evaluated on {choice.label} yet.")
            return
        bar = st.progress(0.0, text="Evaluating…")
        try:
            from emotion_core.scoring import evaluate_run  # late: loads Keras only when needed

            report = evaluate_run(run.name, data=choice.data, split=choice.split,
                                  progress=lambda fraction: bar.progress(fraction))
        except (registry.RunError, DatasetError, OSError, ValueError) as error:
            st.error(f"Cannot evaluate {run.name}: {error}")
            return
        bar.empty()
    figures = st.columns(4)
    figures[0].metric("Accuracy", accuracy(report["accuracy"]))
    figures[1].metric("Macro-F1", f"{report['macro_f1']:.3f}")
    for column, label, value in ((figures[2], "Macro AUC", report["roc"]["macro_auc"]),
                                 (figures[3], "Micro AUC", report["roc"]["micro"]["auc"])):
        column.metric(label, f"{value:.3f}" if value is not None else "n/a")
    st.caption(f"{report['n']:,} images of `{report.get('data', run.dataset.get('name'))}`, "
               f"{class_set_name(report['class_names'])} classes, TTA "
               f"{tta_mode(report.get('tta'))}, evaluated {str(report.get('evaluated', '?'))[:10]}")
    if report.get("note"):
        st.caption(report["note"])
    st.altair_chart(charts.confusion(comparison.confusion_frame(report, normalised), normalised))
    st.dataframe(comparison.per_class_frame(report), column_config={
        name: st.column_config.NumberColumn(format="%.3f") for name in ("precision", "recall", "f1")})
    st.altair_chart(charts.roc_curves(comparison.roc_frame(report)))
    calibration = comparison.calibration_caption(report)
    if calibration:  # reports saved before calibration was measured have no reliability data
        st.markdown("**Reliability**: does a face given 80% come out right 80% of the time?")
        st.altair_chart(charts.reliability_diagram(comparison.reliability_frame(report)))
        st.caption(calibration)


def pair_ui(chosen, deployed):
    """The two chosen runs to set side by side (the deployed one first unless the user picks)."""
    names = [run.name for run in chosen]
    first, second = comparison.pair_defaults(names, deployed)
    if len(names) > 2:  # two columns is as many as a confusion matrix stays readable in
        left, right = st.columns(2)
        first = left.selectbox("Compare", names, index=names.index(first), key="pair-first")
        others = [name for name in names if name != first]
        second = right.selectbox("with", others, index=others.index(second) if second in others else 0,
                                 key="pair-second")
    by_name = {run.name: run for run in chosen}
    return [by_name[name] for name in (first, second) if name]


def side_by_side_ui(chosen, deployed):
    """The trade-offs a picker weighs, the recipes' differences, then each run's evaluation."""
    pair = pair_ui(chosen, deployed)
    mixed_class_sets_note(pair)
    st.markdown("**Trade-offs**" + (f": **{pair[0].name}** against **{pair[1].name}**" if len(pair) > 1 else ""))
    tradeoffs = comparison.tradeoffs_frame(pair)
    wide, narrow = wide_and_narrow("tradeoffs")  # a phone has room for two short columns of figures
    wide.dataframe(tradeoffs, height=35 * (len(tradeoffs) + 1) + 3, column_config={  # every row, no inner scroll
        "better": st.column_config.TextColumn("ahead", help="The run with the better figure on that row")})
    compact, legend = comparison.compact_tradeoffs(tradeoffs)
    narrow.dataframe(compact, height=35 * (len(compact) + 1) + 3)
    narrow.caption(legend)
    st.markdown("**Recipes**")
    config_diff_ui(pair, "pair")
    choices = comparison.evaluation_choices(pair, labelled_sets())
    choice = st.selectbox("Evaluation", choices, format_func=lambda option: option.label,
                          help="Figures on a data set and split: the runs' own validation and test splits, and any "
                               "other data set a run was evaluated on (`python -m emotion_core evaluate RUN --data NAME`).")
    normalised = st.toggle("Row-normalised confusion matrix", value=True)
    for column, run in zip(st.columns(len(pair)), pair):
        with column:
            evaluation_ui(run, choice, normalised)


st.title("Models")
runs = registry.list_runs()  # uncached: a few small JSON files per run, and they change while training
deployed = registry.deployed_name()
if not runs:
    st.info("No runs in the registry yet: start one on the **Train** page or with "
            "`python -m emotion_core train`.")
    if not available_datasets():
        st.caption(no_dataset_hint())
    st.stop()

frame = comparison.runs_frame(runs, deployed)
by_name = {run.name: run for run in runs}
shown = runs_table_ui(frame)
with st.expander("Deployed model", expanded=deployed is None or JUST_DEPLOYED_KEY in st.session_state
                 or JUST_SET_LIVE_KEY in st.session_state, icon=":material/rocket_launch:"):
    test_sets_ui()  # the runs on the user's own labelled sets, in view while one is picked
    promote_ui(runs, deployed)
    st.divider()
    live_model_ui(runs, deployed)
with st.expander("Exported files", icon=":material/download:"):
    exports_ui(runs, deployed)

names = list(shown["run"])
default = [name for name in comparison.default_selection(shown, deployed) if name in names]
chosen = [by_name[name] for name in st.multiselect("Runs to compare", names, default=default)]

curves, overview, details = st.tabs(["Learning curves", "All runs", "Side by side"])
with curves:
    if chosen:
        mixed_class_sets_note(chosen)
        for note in comparison.ensemble_notes(chosen):
            st.caption(note)
        metric = st.radio("Curve", ["accuracy", "loss"], horizontal=True)
        st.altair_chart(charts.learning_curves(comparison.learning_curves_frame(chosen), metric))
        st.caption("Solid: train; dashed: validation. Drag to pan, scroll to zoom, double-click to reset.")
    else:
        st.caption("Pick runs above to overlay their curves.")
with overview:
    overview_ui(runs, frame)
with details:
    if chosen:
        side_by_side_ui(chosen, deployed)
    else:
        st.caption("Pick one or two runs above to see their trade-offs, recipes, confusion matrices, scores and "
                   "ROC curves.")
