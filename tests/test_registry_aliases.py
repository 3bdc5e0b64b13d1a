"""Registry aliases: `live` works as a run name like `deployed`, and serves the deployed run until set."""

import json

import pytest

from emotion_core import registry
from emotion_core.cli import main
from emotion_core.registry import LIVE, RunError, deploy


def test_live_follows_the_deployed_run_until_it_is_set(trained_runs, isolated_dirs):
    deploy("alpha")
    assert registry.resolve_run(LIVE) == trained_runs["alpha"]
    assert registry.resolve_serving(LIVE) == (trained_runs["alpha"], "")
    assert registry.aliases() == {"deployed": "alpha", "live": None}

    record = deploy("beta", alias=LIVE)
    assert record["run"] == "beta" and record["history"] == []
    assert json.loads((isolated_dirs["models"] / "live.json").read_text())["run"] == "beta"
    assert registry.resolve_run(LIVE) == trained_runs["beta"]
    assert registry.deployed_name() == "alpha"  # deploying for live leaves `deployed` alone
    assert registry.aliases() == {"deployed": "alpha", "live": "beta"}

    deploy("alpha", alias=LIVE)
    assert registry.alias_record(LIVE)["history"][0]["run"] == "beta"


def test_an_alias_can_name_an_alias(trained_runs):
    deploy("beta")
    deploy("deployed", alias=LIVE)
    assert registry.aliases()["live"] == "beta"


def test_live_with_nothing_set_says_how_to_deploy(trained_runs):
    with pytest.raises(RunError, match=r"No run is deployed yet in .*; deploy one with `runs deploy RUN`\."):
        registry.resolve_serving(LIVE)
    with pytest.raises(RunError, match="No run is deployed yet"):
        registry.resolve_run(LIVE)


def test_a_broken_live_run_falls_back_to_the_previous_live_run_then_to_the_deployed_one(trained_runs):
    deploy("alpha")
    deploy("beta", alias=LIVE)
    (trained_runs["beta"] / registry.MODEL_FILE).unlink()
    served, warning = registry.usable_alias(LIVE)
    assert served == "alpha"
    assert warning.startswith("The live run beta is broken (model.keras is missing); serving the deployed run alpha")

    deploy("alpha", alias=LIVE)  # history: beta (broken now)
    (trained_runs["alpha"] / registry.MODEL_FILE).unlink()
    assert registry.usable_alias(LIVE) == (None, "The live run alpha is broken (model.keras is missing) and no "
                                                 "earlier live model is usable; choose a working run for live use "
                                                 "on the Models page.")


def test_an_unknown_alias_is_a_one_line_error(trained_runs):
    with pytest.raises(RunError, match="Unknown alias 'demo': choose one of deployed, live."):
        deploy("alpha", alias="demo")


def test_the_cli_deploys_for_live_with_alias_and_plain_deploy_still_means_deployed(trained_runs, capsys):
    assert main(["runs", "deploy", "alpha"]) == 0
    assert capsys.readouterr().out.strip() == "deployed: alpha (previously none)"
    assert main(["runs", "deploy", "beta", "--alias", "live"]) == 0
    assert capsys.readouterr().out.strip() == "live: beta (previously none)"
    assert registry.aliases() == {"deployed": "alpha", "live": "beta"}
    assert main(["runs", "show", "live", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["run"] == "beta"
    with pytest.raises(SystemExit):
        main(["runs", "deploy", "beta", "--alias", "demo"])
    assert "invalid choice: 'demo'" in capsys.readouterr().err
