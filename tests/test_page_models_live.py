"""The Models page's choice of the model for live use (the `live` alias), open and behind the password."""

from emotion_core import registry
from tests.test_access import PASSWORD, button, open_page, password_box
from tests.test_pages_explore import texts, widget


def test_the_live_model_follows_the_deployed_one_until_another_is_set(trained_runs):
    registry.deploy("alpha")
    at = open_page("views/models.py")
    assert "Model for live use (the Live page): **the deployed one, alpha**" in texts(at)
    assert button(at, "Use for Live").disabled is False

    widget(at, "selectbox", "Run for live use").select("beta").run()
    button(at, "Use for Live").click().run()

    assert not at.exception
    assert registry.aliases() == {"deployed": "alpha", "live": "beta"}
    assert "beta is the model for live use: the Live page runs it now." in texts(at)
    assert "Model for live use (the Live page): **beta**" in texts(at)
    assert button(at, "Use for Live").disabled  # beta is it already


def test_setting_the_live_model_needs_the_admin_password_like_deploying(trained_runs):
    registry.deploy("alpha")
    at = open_page("views/models.py", secrets={"admin_password": PASSWORD})
    widget(at, "selectbox", "Run for live use").select("beta").run()

    assert button(at, "Use for Live").disabled
    assert "Choosing the live model needs the admin password" in texts(at)
    password_box(at).input(PASSWORD).run()
    button(at, "Use for Live").click().run()

    assert not at.exception
    assert registry.aliases()["live"] == "beta"
