"""Run config files: keys mirror the flags, flags override the file, bad keys and types are named."""
from __future__ import annotations

from pathlib import Path

import pytest

import attacks
from bench.cli import main
from bench.config import AttackSpec, RunConfig, split_csv
from bench.configfile import read_config
from bench.errors import BenchError

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "run.toml"
    p.write_text(text)
    return p


def test_shipped_configs_parse():
    for path in sorted((ROOT / "configs").glob("*.toml")):
        cfg = read_config(path)
        assert cfg["attacks"] and all(isinstance(a, AttackSpec) for a in cfg["attacks"])
        for spec in cfg["attacks"]:  # every attack's parameters are ones it takes
            attacks.create(spec.name, **spec.params)


def test_attack_tables_carry_parameters_and_labels(tmp_path):
    cfg = read_config(_write(tmp_path, 'attacks = ["pgd", {name = "vizpert", label = "v-in", '
                                       'label_injection = "input"}]\neps = ["8/255", 0.1]\n'))
    assert cfg["attacks"][0] == AttackSpec("pgd")
    assert cfg["attacks"][1] == AttackSpec("vizpert", {"label_injection": "input"}, "v-in")
    assert AttackSpec("pgd", {"steps": 20}).display == "pgd[steps=20]"


def test_an_attack_label_given_back_is_the_same_attack(tmp_path):
    """`--attacks 'pgd[steps=20,alpha=2/255]'` (how results label an attack) is the TOML table
    {name = "pgd", steps = 20, ...}; a comma inside brackets does not split the list."""
    table = RunConfig(attacks=[{"name": "pgd", "steps": 20, "random_start": False, "alpha": 2 / 255},
                               {"name": "vizpert", "objective": "visualize", "lr": 1e-4}, "fgsm"])
    given = RunConfig(attacks="pgd[steps=20, random_start=false, alpha=2/255],vizpert[objective=visualize,"
                              "lr=1e-4] , fgsm")
    assert given.attacks == table.attacks
    given.check_names()  # parameters the attacks take
    again = RunConfig(attacks=",".join(spec.display for spec in table.attacks))  # labels as results show them
    assert again.attacks == table.attacks
    # a fraction of pixel levels is labelled as written, not as its 17 digits; other numbers keep theirs
    assert table.attacks[0].display == "pgd[alpha=2/255,random_start=False,steps=20]"
    assert AttackSpec("pgd", {"alpha": 0.5, "steps": 3}).display == "pgd[alpha=0.5,steps=3]"
    from common.eps import eps_text  # budgets in logs, bars and titles: the same rule, else 6 digits

    assert [eps_text(e) for e in (8 / 255, 0.1, 1.0, 0.0123456789)] == ["8/255", "0.1", "1", "0.0123457"]
    assert read_config(_write(tmp_path, 'attacks = ["pgd[steps=20,random_start=false,alpha=2/255]"]\n')
                       )["attacks"][0] == table.attacks[0]
    assert split_csv("a, b[x=1,y=2],,c[]") == ["a", "b[x=1,y=2]", "c[]"]
    assert split_csv("pgd(steps=2, alpha=0.1),fgsm") == ["pgd(steps=2, alpha=0.1)", "fgsm"]


@pytest.mark.parametrize("written", ["pgd:steps=20,alpha=0.01", "pgd(steps=20, alpha=0.01)"])
def test_parameters_written_another_way_get_the_bracket_form(written):
    """Other tools' spellings of a parameterised attack: the error shows how this one writes it."""
    from attacks import REGISTRY, UnknownAttackError

    with pytest.raises(UnknownAttackError) as err:
        REGISTRY.create(split_csv(written)[0] if "(" in written else written)
    assert "an attack's parameters go in brackets: 'pgd[steps=20" in str(err.value)
    with pytest.raises(UnknownAttackError, match=r"'pgdx'; did you mean 'pgd'"):
        REGISTRY.create("pgdx")


@pytest.mark.parametrize("text,needle", [
    ("epz = [0.1]\n", "did you mean 'eps'"),
    ("targeted = true\n", "unknown key 'targeted'; did you mean 'mode' (both, untargeted, targeted)?"),
    ("[run]\nn = 10\neps = [0.1]\n", "run options are top-level keys, not a [run] table; remove the [run] line above n, eps"),
    ("[grid]\nn = 10\nfoo = 1\n", "unknown key 'grid'"),  # not only run options: no guess about sections
    ("n = \"many\"\n", "key 'n' must be an integer"),
    ("download = 1\n", "key 'download' must be true or false"),
    ("n = true\n", "key 'n' must be an integer"),
    ("attacks = [{label = \"x\"}]\n", "attacks[0] must be an attack name or a table"),
    ("models = [1, 2]\n", "list of zoo names"),
    # the command line's comma list, written as a string: the fix is the TOML list
    ("attacks = \"fgsm, pgd[steps=20,alpha=2/255]\"\n",
     "must be a list of attack names or tables, got str 'fgsm, pgd[steps=20,alpha=2/255]'; "
     "write attacks = [\"fgsm\", \"pgd[steps=20,alpha=2/255]\"]"),
    ("models = \"mini:resnet\"\n", "write models = [\"mini:resnet\"]"),
    ("seeds = \"0,1\"\n", "write seeds = [0, 1]"),
    ("eps = [0.1\n", "not valid TOML"),
])
def test_bad_config_files_name_the_key(tmp_path, text, needle):
    with pytest.raises(BenchError, match=None) as err:
        read_config(_write(tmp_path, text))
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        read_config(tmp_path / "nope.toml")


def test_unknown_attack_parameter_in_config_exits_2(tmp_path, capsys):
    path = _write(tmp_path, 'dataset = "synthetic"\nattacks = [{name = "vizpert", stepz = 3}]\n')
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no parameter 'stepz'" in err[0]


def test_duplicate_attack_labels_are_rejected(tmp_path, capsys):
    path = _write(tmp_path, 'dataset = "synthetic"\nattacks = ["pgd", "pgd"]\n')
    assert main(["run", "--config", str(path)]) == 2
    assert "listed twice" in capsys.readouterr().err


def test_flags_override_the_file(tmp_path, zoo_cache, capsys):
    path = _write(tmp_path, 'dataset = "synthetic"\nmodels = ["mini:vgg"]\nattacks = ["fgsm"]\nn = 40\n'
                            'eps = [0.3]\nmode = "untargeted"\n')
    out = tmp_path / "runs"
    code = main(["run", "--config", str(path), "--eps", "0.05", "--cache-dir", str(zoo_cache), "--output", str(out)])
    assert code == 0
    import json

    manifest = json.loads(((out / "latest").resolve() / "manifest.json").read_text())
    assert manifest["config"]["eps"] == [0.05] and manifest["config"]["n"] == 40
    assert manifest["config"]["targeted"] == [False]


def test_a_config_written_out_reads_back_to_the_same_options(tmp_path):
    """config_toml -> read back: the same recorded options, through labels, per-attack sources, fractions,
    odd strings and checkpoints; where a run computes is left out."""
    from bench.configfile import WHERE_KEYS, config_toml, resolve_config

    cfg = RunConfig(dataset="imagefolder:/data/val \"set\" é", models=("timm:resnet18", "mini:vgg"),
                    sources=("mini:vgg",), seeds=(0, 2), eps=(8 / 255, 0.1), mode="targeted", n=7, n_fit=5,
                    attacks=(AttackSpec("fgsm"), AttackSpec("pgd", {"steps": 3, "alpha": 2 / 255, "random_start": False}),
                             AttackSpec("vizpert", {"label_injection": "input"}, "viz-in", ("mini:vgg",))),
                    checkpoints={"timm:resnet18": "w/r18.safetensors"}, batch_size=17, device="cpu",
                    executor="ray", workers=0, amp="bf16", compile=True)
    path = _write(tmp_path, config_toml(cfg, "a header\nof two lines"))
    text = path.read_text()
    assert text.startswith("# a header\n# of two lines\n")
    back = resolve_config(path)
    assert back.to_dict() == {**cfg.to_dict(), **{k: RunConfig().to_dict()[k] for k in WHERE_KEYS}}
    assert not any(line.startswith(WHERE_KEYS) for line in text.splitlines())
    assert config_toml(back, "a header\nof two lines") == text  # writing it again changes nothing
    assert resolve_config(_write(tmp_path, config_toml(RunConfig()))).to_dict() == RunConfig().to_dict()


def test_a_run_folder_holds_a_config_that_reruns_its_grid(tmp_path, zoo_cache, capsys):
    """`bench run --config <run>/config.toml` is the same grid: resuming the folder with it computes
    nothing, and a new folder from it gets the same results.csv."""
    out = tmp_path / "runs"
    code = main(["run", "--dataset", "synthetic", "--models", "mini:vgg,mini:resnet", "--sources", "mini:vgg",
                 "--attacks", "fgsm,pgd[steps=3,alpha=0.05]", "--eps", "0.1,8/255", "--mode", "untargeted",
                 "--n", "30", "--n-fit", "20", "--batch-size", "16", "--cache-dir", str(zoo_cache),
                 "--output", str(out), "--run-id", "a", "--device", "cpu"])
    assert code == 0
    config = out / "a" / "config.toml"
    text = config.read_text()
    assert f"bench run --config {config}" in text and "\ndevice =" not in text and "\nbatch_size = 16\n" in text
    assert '<a href="config.toml">config.toml</a>' in (out / "a" / "index.html").read_text()  # the page links it
    capsys.readouterr()
    again = ["run", "--config", str(config), "--cache-dir", str(zoo_cache), "--output", str(out)]
    assert main(again + ["--run-id", "a"]) == 0
    assert "0 cells computed, 4 already stored" in capsys.readouterr().err
    assert main(again + ["--run-id", "b"]) == 0
    assert (out / "b" / "results.csv").read_bytes() == (out / "a" / "results.csv").read_bytes()


def test_formats_may_be_a_list_in_toml_and_the_api(tmp_path):
    """`format` is the flag's comma list, or (TOML, `bench.run`) a list as the other list options are;
    before, a list was "must be a string"."""
    from bench.configfile import resolve_config

    assert resolve_config(_write(tmp_path, 'format = ["markdown", "csv"]\n')).report_formats == ("markdown", "csv")
    assert resolve_config(None, {"format": ["html"]}).format == "html"
    assert resolve_config(None, {"format": "csv,md"}).report_formats == ("csv", "markdown")
    with pytest.raises(BenchError, match=r"format \(--format\) must be a comma list such as \"csv,html\" or a list "
                                         r"of format names, got \[1\]"):
        resolve_config(_write(tmp_path, "format = [1]\n"))


def test_the_default_eps_follows_the_norm(tmp_path):
    """`--norm l2` alone ran at eps 0.1, a Linf-sized radius: white-box PGD-10 fooled 16 / 9% of the
    quickstart's images where Linf 0.1 fools all. Without --eps, L2 runs at 1 (99.6 / 96.4%)."""
    from bench.configfile import resolve_config

    assert resolve_config(None, {}).eps == (0.1,)
    assert resolve_config(None, {"norm": "l2"}).eps == (1.0,)
    assert resolve_config(None, {"norm": "l2", "eps": "0.5"}).eps == (0.5,)
    assert resolve_config(_write(tmp_path, 'norm = "l2"\n')).eps == (1.0,)
    assert resolve_config(_write(tmp_path, 'norm = "l2"\n'), {"norm": "linf"}).eps == (0.1,)
