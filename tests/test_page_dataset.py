"""The Dataset page as a reader sees it: sample captions, what a missing split means, shared images."""

import shutil

from tests.conftest import make_image_dataset
from tests.test_pages_explore import open_page, texts, widget


def test_captions_notes_and_the_images_validation_shares_with_train(isolated_dirs):
    root = make_image_dataset(isolated_dirs["data"] / "small", {"train": 3, "validation": 2})
    shutil.copy(root / "train" / "sad" / "train_1.png", root / "validation" / "sad" / "again.png")
    at = open_page("views/dataset.py")

    # Names without their extension, breakable only after the underscore (a zero-width space).
    assert sample_captions(at) == ["train_\u200b0", "train_\u200b1", "train_\u200b2"] * 7
    # The absent test split is information, and it does not read as if validation were missing.
    assert [info.value for info in at.info] == [
        "No test split (train and validation are here): accuracy is measured on validation."]
    assert not at.warning
    assert ("1 of the 15 validation images (7%) is an exact copy of a training image, which the model has seen, "
            "so its validation accuracy reads a little high.") in texts(at)
    widget(at, "selectbox", "Split").set_value("validation").run()
    assert "again" in sample_captions(at) and "validation_\u200b0" in sample_captions(at)


def sample_captions(at) -> list[str]:
    """The Samples tab's captions (the Data problems tab's read 'split · label')."""
    return [caption for image in at.get("image") for caption in image.captions if " · " not in caption]
