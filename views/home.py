"""Home: what the app is, the deployed model's card, and the way to every page."""

import streamlit as st

from emotion_core import comparison, registry, report
from emotion_core.datasets import recorded_summary, shared_images_note
from emotion_core.labels import EMOTIONS
from emotion_core.wording import accuracy
from ui import charts
from ui.common import PAGES, available_datasets, deployed_run, no_dataset_hint

PAGE_LINKS = PAGES[1:]  # every page but this one


def model_card_ui(facts: dict, record: dict) -> None:
    """The deployed run's card (`report.model_card`) and when it was deployed."""
    st.subheader(f"Deployed model: {facts['run']}")
    if facts["description"]:
        st.caption(f"`{facts['architecture']}`: {facts['description']}")
    if len(facts["classes"]) < len(EMOTIONS):
        st.caption(f"It reads {len(facts['classes'])} emotions only: {', '.join(facts['classes'])}.")
    figures = st.columns(4)
    figures[0].metric("Validation accuracy", accuracy(facts["val_accuracy"]) if facts["val_accuracy"] is not None else "n/a")
    figures[1].metric("Macro-F1", f"{facts['val_macro_f1']:.3f}" if facts["val_macro_f1"] is not None else "n/a")
    figures[2].metric("Parameters", f"{facts['parameters']:,}" if facts["parameters"] else "n/a")
    figures[3].metric(facts["model_files"], f"{facts['model_mb']:.1f} MB" if facts["model_mb"] else "n/a",
                      help=None if facts["model_files"] == "Model file" else
                      "An ensemble keeps only its members' names; its model is assembled from their files.")
    trained = report.origin_text(facts) + " on "
    data = (f"`{facts['data']}` ({facts['train_images']:,} training images, fingerprint `{facts['fingerprint']}`)"
            if facts["data"] else "an unrecorded data set")
    deployed_at = f"; deployed {record['deployed_at'][:16].replace('T', ' ')} UTC" if record.get("deployed_at") else ""
    st.markdown(trained + data + deployed_at + ".")
    if facts["other_sets"]:  # the Models page's test sets
        st.markdown("**On other labelled sets** (the Models page's test sets)\n"
                    + "\n".join(f"- {line}" for line in facts["other_sets"]))
    summary = recorded_summary(facts["data"], facts["fingerprint"])  # instant; None before a summary was made
    if summary and (note := shared_images_note(summary)):
        st.caption(note)  # the validation accuracy above counts images the model trained on


def page_links_ui() -> None:
    columns = st.columns(len(PAGE_LINKS))
    for column, page in zip(columns, PAGE_LINKS):
        with column:
            st.page_link(page.path, label=page.title, icon=page.icon)
            st.caption(page.purpose)


st.title("Facial emotion model explorer")
st.markdown(
    f"Train, compare and try out models that read one of seven expressions ({', '.join(EMOTIONS)}) "
    "from a face. Everything here reads the run registry in `models/` and the data sets in `data/`, "
    "so the command line and this app always show the same runs."
)
page_links_ui()
st.divider()

run = deployed_run()
if run is None:
    st.info("No model is deployed yet: train one on the **Train** page (or `python -m emotion_core train`) "
            "and promote it on the **Models** page.")
else:
    model_card_ui(report.model_card(run), registry.deployment_record())

if not available_datasets():
    st.warning(no_dataset_hint())
    # The registry still knows what the deployed model was trained on, so show that instead.
    if run is not None and run.dataset.get("counts"):
        st.caption(f"Class counts recorded when `{run.name}` was trained on `{run.dataset.get('name')}`:")
        st.altair_chart(charts.class_counts(comparison.counts_frame(run.dataset["counts"])))
