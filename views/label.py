"""Label: your own faces, from a finished analysis, one at a time, into a data set.

The faces of an analysis under analyses/ (its photos' faces; one face of each viewer a second of its
videos) come one at a time, large, with the model's guess. One click, or a key (1-7 for the
emotions, n for not a face, s to skip, u to undo; each button shows its key), answers and shows the next. `emotion_core.faceset.Labelling`
saves every answer at once into a data set under the data root, so leaving and coming back
continues where the user stopped. Any page and command reads that data set like any other.
"""

import streamlit as st

from emotion_core.analysis import analyses_dir
from emotion_core.datasets import data_root
from emotion_core.faceset import NOT_A_FACE, SKIP, Labelling, LabellingError, face_sets, labelling_outputs
from emotion_core.labels import EMOTIONS
from emotion_core.wording import percent, plural
from ui.common import analysis_picker_ui

SESSION_KEY = "label.session"  # (analysis folder, face set folder) -> the open Labelling
ERROR_KEY = "label.error"
FACE_PIXELS = 320  # shown size of a face crop: large enough to read a subtle expression
SHORTCUTS = {**{emotion: str(index) for index, emotion in enumerate(EMOTIONS, start=1)}, NOT_A_FACE: "n", SKIP: "s"}


def analysis_ui():
    """The finished analysis to label and the data set to save into; the open Labelling, or None."""
    output = analysis_picker_ui(labelling_outputs(analyses_dir()),
                                "python -m emotion_core analyze PHOTOS --out DIR/NAME")
    if output is None:
        return None
    name = st.text_input("Save the labels as the data set", value=f"{output.path.name}-faces",
                         key=f"label.name.{output.path.name}",
                         help=f"A folder under the data root ({data_root()}). The same name again continues it.")
    if not name or "/" in name or name.startswith("."):
        st.error("The data set's name must be a plain folder name.")
        return None
    key = (str(output.path), name)
    held_key, session = st.session_state.get(SESSION_KEY, (None, None))
    if held_key != key:
        try:
            session = Labelling.open(output.path, data_root() / name)
        except (LabellingError, OSError) as error:
            st.error(str(error).splitlines()[0])
            return None
        st.session_state[SESSION_KEY] = (key, session)
    return session


def _answer(session: Labelling, key: str, answer: str) -> None:
    face = next(face for face in session.faces if face.key == key)
    try:
        session.answer(face, answer)
    except (LabellingError, OSError, ValueError) as error:  # a photo or video gone since the analysis
        st.session_state[ERROR_KEY] = f"{face.where}: {str(error).splitlines()[0]}"


def progress_ui(session: Labelling) -> None:
    counts = session.progress()
    answered = counts["faces"] - counts["left"]
    st.progress(answered / counts["faces"],
                text=f"{answered} of {counts['faces']} faces answered · {counts['labelled']} labelled · "
                     f"{counts['not_a_face']} not a face · {counts['skipped']} skipped")


def face_ui(session: Labelling) -> None:
    """The next face, large, with the model's guess, and one button per answer."""
    face = session.next_face()
    if face is None:
        counts = session.progress()
        st.success(f"Every face has an answer: {counts['labelled']} labelled in `{session.out}`.")
        undo_ui(session, st)
        return
    picture, answers = st.columns([2, 3])
    try:
        picture.image(session.crop(face), width=FACE_PIXELS)
    except (OSError, ValueError) as error:
        picture.warning(f"Cannot show this face: {str(error).splitlines()[0]}. Skip it.")
    picture.caption(face.where + (" (skipped before)" if session.answers.get(face.key) == SKIP else ""))
    answers.markdown(f"The model says **{face.guess}** ({percent(face.confidence)}). Is it right?")
    columns = answers.columns(4)
    for index, emotion in enumerate(EMOTIONS):
        columns[index % 4].button(emotion, key=f"label.{emotion}",
                                  type="primary" if emotion == face.guess else "secondary",
                                  shortcut=SHORTCUTS[emotion], on_click=_answer, args=(session, face.key, emotion),
                                  width="stretch")
    columns[3].button("Not a face", key="label.not-a-face", shortcut=SHORTCUTS[NOT_A_FACE],
                      on_click=_answer, args=(session, face.key, NOT_A_FACE), width="stretch")
    skip, undo = answers.columns(2)
    skip.button("Skip for now", key="label.skip", shortcut=SHORTCUTS[SKIP], on_click=_answer,
                args=(session, face.key, SKIP), icon=":material/skip_next:", help="It comes back after the other faces.")
    undo_ui(session, undo)


def undo_ui(session: Labelling, where) -> None:
    where.button("Undo the last answer", key="label.undo", shortcut="u", icon=":material/undo:",
                 on_click=session.undo, disabled=not session.answers,
                 help="Shows that face again; a label's crop leaves the data set.")


def face_sets_ui() -> None:
    sets = face_sets(data_root())
    st.subheader("Your face sets")
    if not sets:
        st.caption("None yet: the first label makes one.")
        return
    for entry in sets:
        counts = ", ".join(f"{name} {entry[name]}" for name in EMOTIONS if entry[name])
        st.markdown(f"- **{entry['name']}**: {plural(entry['faces'], 'face')}" + (f" ({counts})" if counts else "")
                    + (f", from `{entry['from']}`" if entry["from"] else ""))
    st.caption("Score every run on one: `python -m emotion_core evaluate --all --data NAME --split test`. "
               "Fine-tune a run on one on the Train page (Your own faces).")


st.title("Label your faces")
st.caption("Teach the models your faces: confirm or correct the model's guess for each face of an analysis.")
opened = analysis_ui()
if opened is not None:
    if error := st.session_state.pop(ERROR_KEY, None):
        st.warning(error)
    progress_ui(opened)
    face_ui(opened)
face_sets_ui()
