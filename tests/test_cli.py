"""Commande `desimper` : vérification du dossier de données, démonstration si absente."""

import shutil

import cli


def test_verifier_dossier_absent(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = cli.main(["verifier", "--dossier", str(tmp_path / "absent")])
    sortie = capsys.readouterr().out
    assert code == 1
    assert "n'existe pas" in sortie and "desimper demo" in sortie


def test_verifier_demo_en_ordre(dossier_demo, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = cli.main(["verifier", "--dossier", str(dossier_demo)])
    sortie = capsys.readouterr().out
    assert code == 0, sortie
    assert "Tout est en ordre" in sortie
    assert "25 communes" in sortie


def test_verifier_couche_manquante_et_base_vide(dossier_demo_copie, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    (dossier_demo_copie / "parcelles.parquet").unlink()
    (dossier_demo_copie / "desimper.sqlite").unlink()
    code = cli.main(["verifier", "--dossier", str(dossier_demo_copie)])
    sortie = capsys.readouterr().out
    assert code == 1
    assert "parcelles" in sortie and "absente" in sortie
    assert "Tables absentes" in sortie
    assert "Traceback" not in sortie


def test_demo_si_absent_ne_regenere_pas(dossier_demo_copie, capsys):
    avant = (dossier_demo_copie / "parcelles.parquet").stat().st_mtime_ns
    assert cli.main(["demo", "--taille", "petite", "--si-absent", "--dossier", str(dossier_demo_copie)]) == 0
    assert "rien à faire" in capsys.readouterr().out
    assert (dossier_demo_copie / "parcelles.parquet").stat().st_mtime_ns == avant
