"""The Label page driven by AppTest: a finished analysis's faces answered one click at a time."""

import json

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from emotion_core.faceset import SUMMARY_JSON, read_manifest
from tests.conftest import PROJECT
from tests.faceset.analyses import write_analysis

PAGE = str(PROJECT / "views" / "label.py")
TIMEOUT = 60  # a video face is decoded on the spot: seconds on a loaded two-core machine


def test_without_an_analysis_the_page_says_how_to_make_one():
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert "No finished analysis" in app.info[0].value and "analyze PHOTOS --out" in app.info[0].value


def test_each_click_labels_the_face_shown_and_a_new_session_continues_after_it(tmp_path, isolated_dirs):
    write_analysis(tmp_path)  # under the analyses folder the page lists
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert app.text_input[0].value == "campaign-faces"
    assert "The model says **happy** (70%)" in app.markdown[0].value
    assert app.button(key="label.happy").proto.type == "primary"  # the guess stands out: one click confirms it
    assert app.caption[1].value == "ad_a/one.png, face 1"

    app.button(key="label.happy").click().run()
    assert app.caption[1].value == "ad_a/two.png, face 1"  # the next face at once
    app.button(key="label.angry").click().run()
    app.button(key="label.not-a-face").click().run()
    app.button(key="label.skip").click().run()

    assert not app.exception
    assert "4 of 5 faces answered · 2 labelled · 1 not a face · 1 skipped" in app.get("progress")[0].proto.text
    out = isolated_dirs["data"] / "campaign-faces"
    assert list(read_manifest(out)["emotion"]) == ["happy", "angry"]
    assert json.loads((out / SUMMARY_JSON).read_text())["counts"] == {"test": {"happy": 1, "angry": 1}}
    assert np.asarray(Image.open(out / read_manifest(out)["file"][0])).shape[2] == 3
    assert "- **campaign-faces**: 2 faces (angry 1, happy 1), from `campaign`" in [md.value for md in app.markdown]

    again = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()  # another visit: where the first stopped, then the skipped face
    assert again.caption[1].value == "clip.mp4 at 1.0 s, viewer 1"
    again.button(key="label.happy").click().run()
    assert again.caption[1].value == "clip.mp4 at 0.0 s, viewer 1 (skipped before)"
    again.button(key="label.sad").click().run()
    assert "Every face has an answer: 4 labelled" in again.success[0].value
    again.button(key="label.undo").click().run()  # a mis-click: the face comes back, its crop goes
    assert again.caption[1].value == "clip.mp4 at 0.0 s, viewer 1" and len(read_manifest(out)) == 3


def test_a_name_taken_by_another_folder_is_refused_in_one_line(tmp_path, isolated_dirs):
    write_analysis(tmp_path, with_video=False)
    (isolated_dirs["data"] / "campaign-faces").mkdir()
    (isolated_dirs["data"] / "campaign-faces" / "notes.txt").write_text("mine")
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert "already exists and holds other files" in app.error[0].value
    app.text_input[0].set_value("my-faces").run()
    assert not app.error and app.caption[1].value == "ad_a/one.png, face 1"
