"""The `kzoo` command end to end on a small image folder the test writes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kzoo.cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """3 alphabets x 6 classes x 6 images; each class a distinct blob pattern."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.RandomState(0)
    for a in range(3):
        for c in range(6):
            base = rng.rand(7, 7) > 0.6
            for i in range(6):
                image = np.kron(base, np.ones((4, 4))) * 255
                image = np.roll(image, rng.randint(-2, 3, size=2), axis=(0, 1))
                path = root / f"alphabet{a}" / f"class{c}"
                path.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image.astype("uint8")).save(path / f"{i}.png")
    return f"folder:{root}"


def test_list_shows_applications_and_presets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("protonet", "mtnet", "hypertransformer", "tafenet", "amaz", "task2vec"):
        assert f"\n{name} (kzoo.applications." in "\n" + out
    assert "protonet/omniglot_20way_1shot" in out and "test episodes" in out
    assert "tafenet/glyphs_gzsl" in out and "GZSL u" in out and "task2vec/probe_glyphs_resnet" in out


def test_data_show_writes_a_png(folder, tmp_path, capsys):
    out = tmp_path / "episode.png"
    assert main(["data", "show", folder, "--ways", "3", "--queries", "2", "--unlabeled", "1",
                 "--rotations", "--distort", "--out", str(out)]) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size[0] > 200
    assert "18 classes in 3 alphabets" in capsys.readouterr().out


def test_data_bench_prints_episodes_per_second(folder, capsys):
    assert main(["data", "bench", "--data", folder, "--ways", "3", "--queries", "2", "--tasks", "2",
                 "--batches", "3", "--warmup", "1"]) == 0
    assert "episodes/s" in capsys.readouterr().out


def test_fit_evaluate_export_round_trip(folder, tmp_path, capsys):
    preset, export, logs = tmp_path / "preset", tmp_path / "export", tmp_path / "logs"
    args = ["fit", "protonet", "--data", folder, "--ways", "3", "--queries", "2", "--steps", "4",
            "--steps-per-epoch", "2", "--channels", "4", "--eval-queries", "2", "--eval-episodes", "20",
            "--logdir", str(logs), "--export", str(export), "--save-preset", str(preset)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "(20 episodes)" in out
    assert (export / "1" / "saved_model.pb").exists() and any(logs.rglob("events.out.tfevents*"))
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["command"].startswith("kzoo fit protonet --data folder:")
    assert meta["evaluation"]["episodes"] == 20 and meta["data_spec"] == folder

    assert main(["evaluate", str(preset), "--episodes", "20", "--json"]) == 0
    score = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert score["accuracy"] == pytest.approx(meta["evaluation"]["accuracy"], abs=1e-6)

    assert main(["export", str(preset), str(tmp_path / "served"), "--version", "3"]) == 0
    assert (tmp_path / "served" / "3" / "saved_model.pb").exists()
    assert main(["export", str(preset), str(tmp_path / "served"), "--version", "3"]) == 2
    assert "exists" in capsys.readouterr().err


def test_console_script_is_installed():
    binary = shutil.which("kzoo") or str(Path(sys.executable).parent / "kzoo")
    result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "fit" in result.stdout and "evaluate" in result.stdout


def test_fit_any_application_with_its_own_arguments(folder, tmp_path, capsys):
    preset = tmp_path / "mtnet"
    assert main(["fit", "mtnet", "--data", folder, "--ways", "3", "--queries", "2", "--steps", "2",
                 "--steps-per-epoch", "2", "--channels", "4", "--eval-queries", "2", "--eval-episodes", "20",
                 "--set", "variant=maml", "--set", "inner_lr=0.2", "--set", "blocks=2",
                 "--save-preset", str(preset)]) == 0
    config = json.loads((preset / "config.json").read_text())["config"]
    assert (config["variant"], config["inner_lr"], config["num_outputs"], config["blocks"]) == ("maml", 0.2, 3, 2)
    assert main(["fit", "mtnet", "--data", folder, "--set", "colour=red"]) == 2
    assert "Expected --set NAME=VALUE" in capsys.readouterr().err


def test_fit_on_variable_way_variable_shot_episodes(folder, tmp_path, capsys):
    preset = tmp_path / "ht"
    assert main(["fit", "hypertransformer", "--data", folder, "--variable-ways", "2-4", "--ways", "3",
                 "--steps", "2", "--steps-per-epoch", "2", "--channels", "4", "--eval-queries", "2",
                 "--eval-episodes", "20", "--val-episodes", "10", "--set", "embedding_dim=8", "--set", "num_layers=1",
                 "--save-preset", str(preset)]) == 0
    assert json.loads((preset / "config.json").read_text())["config"]["num_ways"] == 4  # the largest N
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["training"]["variable"] == {"min_ways": 2, "max_ways": 4}
    assert meta["evaluation"]["ways"] == 3  # test episodes stay --ways N-way
    with pytest.raises(SystemExit, match="2"):
        main(["fit", "protonet", "--data", folder, "--variable-ways", "4-2"])
    assert "--variable-ways: expected MIN-MAX with 1 <= MIN <= MAX, received '4-2'" in capsys.readouterr().err
    assert main(["fit", "protonet", "--data", folder, "--variable-ways", "2-4", "--tasks", "2"]) != 0
    assert "Expected no --tasks with --variable-ways" in capsys.readouterr().err


def test_fit_with_a_learning_rate_warm_up(folder, tmp_path, monkeypatch):
    import keras

    from kzoo.training import LinearWarmup

    compiled = []
    original = keras.Model.compile
    monkeypatch.setattr(keras.Model, "compile", lambda self, *a, **k: compiled.append(k) or original(self, *a, **k))
    preset = tmp_path / "warm"
    assert main(["fit", "protonet", "--data", folder, "--ways", "3", "--queries", "2", "--steps", "2",
                 "--steps-per-epoch", "2", "--channels", "4", "--eval-queries", "2", "--eval-episodes", "20",
                 "--learning-rate", "0.01", "--warmup-steps", "50", "--save-preset", str(preset)]) == 0
    schedule = compiled[0]["optimizer"]._learning_rate
    assert isinstance(schedule, LinearWarmup) and (schedule.learning_rate, schedule.warmup_steps) == (0.01, 50)
    assert "--warmup-steps 50" in json.loads((preset / "metadata.json").read_text())["command"]


def test_fit_on_two_sources_with_distortion_and_selection_on_validation(folder, tmp_path, capsys):
    preset = tmp_path / "union"
    assert main(["fit", "protonet", "--data", f"{folder}+{folder}", "--ways", "3", "--queries", "2",
                 "--steps", "4", "--steps-per-epoch", "2", "--channels", "4", "--eval-queries", "2",
                 "--eval-episodes", "20", "--distort", "--select-best", "--val-episodes", "10",
                 "--save-preset", str(preset)]) == 0
    out = capsys.readouterr().out
    assert "also scored on" in out
    meta = json.loads((preset / "metadata.json").read_text())
    # the second copy's alphabets named like the first's held-out ones never train
    held_out = set(meta["data"]["validation_alphabets"]) | set(meta["data"]["test_alphabets"])
    assert not held_out & set(meta["data"]["train_alphabets"])
    assert meta["training"]["distortion"]["rotation"] == 10.0
    assert meta["training"]["selected"]["epoch"] in (1, 2) and meta["training"]["selected"]["of_epochs"] == 2
    assert len(meta["other_evaluations"]) == 1
    # the preset's recorded split, its validation part: the first source's validation alphabet
    assert main(["evaluate", str(preset), "--split", "validation", "--episodes", "20", "--ways", "3",
                 "--queries", "2"]) == 0
    out = capsys.readouterr().out
    assert "3-way 1-shot validation accuracy" in out
    assert "in 1 alphabets" in out and meta["data"]["validation_alphabets"][0] not in meta["data"]["test_alphabets"]
    assert main(["fit", "protonet", "--data", folder, "--val-episodes", "15"]) == 2
    assert "Expected --val-episodes to be a multiple of 10" in capsys.readouterr().err


def test_tensorflow_start_up_lines_are_filtered_but_errors_are_not():
    import os

    binary = shutil.which("kzoo") or str(Path(sys.executable).parent / "kzoo")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([binary, "evaluate", "nope/x"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kzoo: error: Unknown application 'nope'. Known: amaz, hypertransformer, mtnet, protonet, tafenet, task2vec."]


def test_native_log_filter_keeps_other_lines(capfd):
    import os

    from kzoo.native_logs import quiet_native_start_up

    with quiet_native_start_up():
        os.write(2, b"I0000 00:00:1796598149.930988   23566 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"a real error\n")
    assert capfd.readouterr().err == "a real error\n"


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory):
    """A toy zero-shot set in the Xian et al. xlsa17 layout: 8 seen + 4 unseen classes, 10 images each."""
    from tests.zsl.test_xlsa17 import _write

    rng = np.random.default_rng(0)
    attributes = (rng.uniform(size=(12, 6)) > 0.5).astype(float)
    labels = np.repeat(np.arange(12), 10)
    features = np.maximum(attributes[labels] @ rng.normal(size=(6, 16)) + 0.3 * rng.normal(size=(120, 16)), 0)
    seen = labels < 8
    index = np.arange(120)
    trainval = index[seen & (index % 10 < 7)] + 1  # 1-based, as the release
    test_seen = index[seen & (index % 10 >= 7)] + 1
    test_unseen = index[~seen] + 1
    folder = _write(tmp_path_factory.mktemp("xlsa17") / "TOY", features.T, labels + 1, attributes.T, trainval,
                    test_seen, test_unseen, names=[f"class{c}" for c in range(12)])
    return f"xlsa17:{folder}"


def test_fit_evaluate_export_tafenet_on_xlsa17_files(zero_shot, tmp_path, capsys):
    preset = tmp_path / "tafenet"
    assert main(["fit", "tafenet", "--data", zero_shot, "--epochs", "2", "--batch-size", "16",
                 "--set", "hidden_units=(8, 8)", "--set", "task_units=8", "--set", "classifier_units=8",
                 "--save-preset", str(preset)]) == 0
    out = capsys.readouterr().out
    assert "GZSL u" in out and "H" in out
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["command"].startswith("kzoo fit tafenet --data xlsa17:") and meta["training"]["epochs"] == 2
    assert set(meta["evaluation"]) >= {"u", "s", "H", "zsl_unseen_only", "top1", "mAP", "ci95"}
    assert (preset / "serving" / "1" / "saved_model.pb").exists()
    assert main(["evaluate", str(preset), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-3].split(": ", 1)[1] == lines[-2].split(": ", 1)[1]  # recomputed == recorded
    assert json.loads(lines[-1])["H"] == meta["evaluation"]["H"]
    assert main(["evaluate", str(preset), "--episodes", "20"]) == 2
    assert "--episodes" in capsys.readouterr().err
    assert main(["fit", "tafenet", "--data", zero_shot, "--steps", "5"]) == 2  # TAFE-Net trains in epochs
    assert "Received: --steps" in capsys.readouterr().err
    assert main(["export", str(preset), str(tmp_path / "served")]) == 0
    assert (tmp_path / "served" / "1" / "saved_model.pb").exists()


def test_fit_and_evaluate_amaz_on_xlsa17_files(zero_shot, tmp_path, capsys):
    preset = tmp_path / "amaz"
    assert main(["fit", "amaz", "--data", zero_shot, "--steps", "2", "--steps-per-epoch", "1", "--ways", "2",
                 "--shots", "2", "--queries", "2", "--tasks", "2", "--set", "generator_units=(16,)",
                 "--set", "embedding_dim=8", "--set", "discriminator_units=(8,)", "--set", "classifier_units=(8,)",
                 "--set", "decoder_units=(8,)", "--save-preset", str(preset)]) == 0
    assert "ZSL top-1 softmax" in capsys.readouterr().out
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["training"]["steps"] == 2 and meta["training"]["ways"] == 2
    assert set(meta["evaluation"]["zsl"]) >= {"softmax", "weighted_softmax"} and "gzsl" in meta["evaluation"]
    assert main(["evaluate", str(preset)]) == 0
    assert "recorded in metadata: ZSL top-1" in capsys.readouterr().out
    assert main(["fit", "amaz", "--data", "nope"]) == 2
    assert "Expected a zero-shot data spec" in capsys.readouterr().err


def test_fit_evaluate_and_embed_task2vec(folder, tmp_path, capsys):
    preset = tmp_path / "probe"
    assert main(["fit", "task2vec", "--data", folder, "--epochs", "1", "--batch-size", "16",
                 "--save-preset", str(preset)]) == 0
    assert "probe top-1 accuracy" in capsys.readouterr().out
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["application"] == "Task2Vec" and meta["training"]["epochs"] == 1
    assert main(["evaluate", str(preset)]) == 0
    assert "recorded in metadata: probe top-1" in capsys.readouterr().out
    tasks = Path(folder.partition(":")[2])  # its three alphabets are three tasks of six classes
    out = tmp_path / "embeddings.npz"
    assert main(["embed", str(preset), str(tasks), "--out", str(out), "--plot", str(tmp_path / "d.png"),
                 "--max-samples", "32"]) == 0
    saved = np.load(out)
    assert saved["names"].tolist() == ["alphabet0", "alphabet1", "alphabet2"]
    assert saved["vectors"].shape[0] == 3 and saved["d_sym"].shape == (3, 3)
    assert np.allclose(np.diag(saved["d_sym"]), 0) and (tmp_path / "d.png").exists()
    assert main(["embed", "protonet/omniglot_20way_1shot", str(tasks)]) == 2
    assert "Expected a Task2Vec preset" in capsys.readouterr().err
    assert main(["embed", str(preset), str(tmp_path / "missing")]) == 2
    assert "Expected a folder of tasks" in capsys.readouterr().err


def test_a_few_shot_option_given_to_a_zero_shot_application_is_named(capsys):
    assert main(["fit", "amaz", "--rotations", "--distort"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--distort, --rotations" in err


def test_fit_and_evaluate_on_a_benchmark_with_its_published_split(tmp_path, capsys, monkeypatch):
    from tests.episodes.test_mini_imagenet import _pattern

    monkeypatch.setenv("KZOO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "mini"
    (root / "images").mkdir(parents=True)
    for split, classes in (("train", range(0, 6)), ("val", range(6, 9)), ("test", range(9, 12))):
        lines = ["filename,label"]
        for c in classes:
            for i in range(4):
                name = f"n{c:08d}{i:08d}.jpg"
                Image.fromarray(np.roll(_pattern(c % 3, i, 84), 7 * c, axis=1)).save(root / "images" / name)
                lines.append(f"{name},n{c:08d}")
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    preset = tmp_path / "preset"
    assert main(["fit", "protonet", "--data", f"mini_imagenet:{root}", "--ways", "3", "--queries", "2",
                 "--steps", "2", "--steps-per-epoch", "2", "--channels", "4", "--eval-queries", "2",
                 "--eval-episodes", "20", "--val-episodes", "10", "--save-preset", str(preset)]) == 0
    meta = json.loads((preset / "metadata.json").read_text())
    assert meta["data"]["split"] == {"by": "published"}
    assert (meta["data"]["train_classes"], meta["data"]["validation_classes"], meta["data"]["test_classes"]) == (6, 3, 3)
    assert json.loads((preset / "config.json").read_text())["config"]["example_shape"] == [84, 84, 3]
    capsys.readouterr()
    assert main(["evaluate", str(preset), "--episodes", "20", "--json"]) == 0
    score = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert score["accuracy"] == pytest.approx(meta["evaluation"]["accuracy"], abs=1e-6)
