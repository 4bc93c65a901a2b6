"""`kzoo fit APP --recipe NAME`: every mini-ImageNet recipe end to end on 84x84 JPEGs in the published layout."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kzoo.cli import main
from kzoo.cli.literature import RECIPES, expand, markdown


@pytest.fixture(scope="module")
def mini_imagenet(tmp_path_factory):
    """Ravi & Larochelle's layout: images/*.jpg and {train,val,test}.csv; 30/5/5 classes of 20 images."""
    root = tmp_path_factory.mktemp("mini_imagenet")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    first = 0
    for split, count in (("train", 30), ("val", 5), ("test", 5)):
        lines = ["filename,label"]
        for c in range(first, first + count):
            colour = rng.integers(0, 256, size=3)
            for i in range(20):
                image = np.clip(colour + rng.normal(0, 40, size=(84, 84, 3)), 0, 255).astype("uint8")
                name = f"n{c:08d}{i:08d}.jpg"
                Image.fromarray(image).save(root / "images" / name)
                lines.append(f"{name},n{c:08d}")
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
        first += count
    return root


def _options(arguments):
    """`{"--option": value}` of an argument list (flags map to True)."""
    options = {}
    for i, token in enumerate(arguments):
        if token.startswith("--"):
            following = arguments[i + 1] if i + 1 < len(arguments) else "--"
            options[token] = True if following.startswith("--") else following
    return options


# each recipe as written, shortened only in length and width: 2 steps, 4 channels, 4 test episodes
SMOKE = ["--steps", "2", "--steps-per-epoch", "2", "--val-episodes", "10", "--eval-episodes", "4", "--channels", "4"]


# the 5-shot recipes differ from their 1-shot ones only in numbers, and MT-net's MAML recipe from its
# MT-net one only in the variant; the MT-net recipe keeps the recipe machinery in the default suite and
# the HyperTransformer one (~16 s) joins the slow ones: `pytest -m slow` runs them
SLOW = {"mtnet/mini_imagenet_maml_5way_1shot", "hypertransformer/mini_imagenet_5way_1shot"}


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if "5shot" in k or k in SLOW else k
                                 for k in RECIPES])
def test_each_recipe_fits_evaluates_exports_and_serves(key, mini_imagenet, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KZOO_CACHE", str(tmp_path / "cache"))
    app, name = key.split("/")
    preset, export = tmp_path / "preset", tmp_path / "export"
    # MAML-style recipes trace 4 tasks x 5 (10 at test) second-order inner steps, 5 s per trace on 2 cores:
    # one task and one step here (the network, pooling included, stays the recipe's)
    smoke = SMOKE + (["--tasks", "1", "--set", "inner_steps=1", "--set", "eval_inner_steps=1"] if app == "mtnet" else [])
    assert main(["fit", app, "--recipe", name, "--data", f"mini_imagenet:{mini_imagenet}", *smoke,
                 "--save-preset", str(preset), "--export", str(export)]) == 0
    meta = json.loads((preset / "metadata.json").read_text())
    recipe = _options(RECIPES[key].arguments)
    assert meta["training"]["ways"] == int(recipe["--ways"]) and meta["training"]["shots"] == int(recipe["--shots"])
    assert (meta["evaluation"]["ways"], meta["evaluation"]["shots"]) == (5, int(recipe["--eval-shots"]))
    assert meta["data"]["split"] == {"by": "published"} and meta["data"]["test_classes"] == 5
    config = json.loads((preset / "config.json").read_text())["config"]
    assert config["example_shape"] == [84, 84, 3]
    if app == "mtnet":  # MAML's mini-ImageNet network: stride-1 convolutions and max-pooling
        assert config["pool"] is True and config["variant"] == ("maml" if "maml" in name else "mtnet")
    capsys.readouterr()
    assert main(["evaluate", str(preset), "--episodes", "4", "--json"]) == 0
    score = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert score["accuracy"] == pytest.approx(meta["evaluation"]["accuracy"], abs=1e-6)

    from kzoo.applications import from_preset
    from kzoo.episodes import few_shot, mini_imagenet as load

    model = from_preset(str(preset))
    x, _ = next(iter(few_shot(load(mini_imagenet, "test"), 5, int(recipe["--eval-shots"]), 3, batches=1)))
    served = tf.saved_model.load(str(export / "1")).signatures["serving_default"]
    logits = served(**{k: tf.constant(v) for k, v in x.items()})["logits"].numpy()
    np.testing.assert_allclose(logits, model.predict_on_batch(x), rtol=1e-4, atol=1e-4)


def test_later_arguments_override_a_recipe_and_bad_names_are_one_line_errors(capsys):
    argv = expand(["fit", "protonet", "--recipe", "mini_imagenet_5way_1shot", "--steps", "2"])
    assert argv[:2] == ["fit", "protonet"] and argv[-2:] == ["--steps", "2"] and "--recipe" not in argv
    assert main(["fit", "tafenet", "--recipe", "mini_imagenet_5way_1shot"]) == 2
    assert "zero-shot" in capsys.readouterr().err
    assert main(["fit", "protonet", "--recipe", "omniglot"]) == 2
    err = capsys.readouterr().err
    assert "Unknown recipe 'omniglot'" in err and "protonet/mini_imagenet_5way_5shot" in err
    assert main(["fit", "protonet", "--recipe", "mtnet/mini_imagenet_5way_1shot"]) == 2
    assert "Expected `kzoo fit mtnet" in capsys.readouterr().err


def test_the_readme_table_is_the_commands_output():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("<!-- kzoo list: recipes -->\n", 1)[1].split("\n<!-- /kzoo list: recipes -->", 1)[0]
    assert block.strip() == markdown().strip()  # rewrite with: kzoo list --recipes --markdown --write README.md
