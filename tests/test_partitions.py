"""Couches rangées par commune (GeoParquet partitionné sous un manifeste) : écriture, lecture par commune et
par emprise, partition manquante, écriture interrompue, ancien format lu puis converti, signatures."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import shapely

import cli
from donnees import partitions
from donnees.cache_modeles import signer_fichiers
from donnees.erreurs import ErreurDonnees
from donnees.partitions import ErreurPartitions, chemin_manifeste, est_partitionnee, lire_manifeste
from donnees.referentiel import chemin_couche, ecrire_couche, lire_couche, lire_couche_facultative


@pytest.fixture(scope="module")
def dossier_source(dossier_demo, tmp_path_factory):
    """Parcelles et occupation de la démonstration « petite », réécrites une fois dans un dossier neuf."""
    cible = tmp_path_factory.mktemp("partitions")
    shutil.copy(dossier_demo / "territoire.json", cible / "territoire.json")
    for nom in ("parcelles", "occupation"):
        ecrire_couche(nom, lire_couche(nom, dossier_demo), cible)
    return cible


@pytest.fixture
def dossier(dossier_source, tmp_path):
    """Copie jetable de :func:`dossier_source`."""
    return shutil.copytree(dossier_source, tmp_path / "donnees")


def _egales(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")).reset_index(drop=True),
                                  pd.DataFrame(b.drop(columns="geometry")).reset_index(drop=True))
    assert (shapely.to_wkb(a.geometry.values) == shapely.to_wkb(b.geometry.values)).all()


def test_demo_rangee_par_commune_et_lue_entiere_a_l_identique(dossier_demo, dossier):
    assert est_partitionnee("parcelles", dossier_demo) and est_partitionnee("occupation", dossier_demo)
    assert not (dossier_demo / "parcelles.parquet").exists()
    assert (dossier_demo / "communes.parquet").exists()  # petite couche : un seul fichier
    manifeste = lire_manifeste("parcelles", dossier_demo)
    entiere = lire_couche("parcelles", dossier_demo)
    assert list(manifeste["partitions"]) == list(dict.fromkeys(entiere["commune"]))
    assert sum(e["lignes"] for e in manifeste["partitions"].values()) == len(entiere)
    for code, entree in manifeste["partitions"].items():
        assert entree["fichier"].startswith(f"code_insee={code}/part-")
        assert (dossier_demo / "parcelles" / entree["fichier"]).is_file()
    _egales(lire_couche("parcelles", dossier), entiere)
    assert chemin_couche("parcelles", dossier_demo) == chemin_manifeste("parcelles", dossier_demo)


def test_lecture_par_commune_egale_le_filtre_de_la_lecture_entiere(dossier):
    entiere = lire_couche("occupation", dossier)
    codes = ["34301", "34157"]
    partielle = lire_couche("occupation", dossier, communes=codes)
    attendue = entiere[entiere["code_insee"].isin(codes)]
    assert set(partielle["code_insee"]) == set(codes)
    _egales(partielle.sort_values("id"), attendue.sort_values("id"))
    quelques = lire_couche("occupation", dossier, communes=["34301"], colonnes=["id", "code_cs"])
    assert list(quelques.columns) == ["id", "code_cs"]
    assert len(quelques) == int(entiere["code_insee"].eq("34301").sum())


def test_lecture_par_emprise_egale_le_filtre_des_boites(dossier):
    entiere = lire_couche("parcelles", dossier)
    emprise = (3.66, 43.39, 3.70, 43.42)  # autour de Sète et Balaruc
    partielle = lire_couche("parcelles", dossier, emprise=emprise)
    bornes = shapely.bounds(entiere.geometry.values)
    touche = ((bornes[:, 2] >= emprise[0]) & (bornes[:, 0] <= emprise[2]) & (bornes[:, 3] >= emprise[1])
              & (bornes[:, 1] <= emprise[3]))
    assert 0 < len(partielle) < len(entiere)
    _egales(partielle.sort_values("id"), entiere[touche].sort_values("id"))
    croisee = lire_couche("parcelles", dossier, communes=["34301"], emprise=emprise)
    assert set(croisee["id"]) == set(partielle.loc[partielle["commune"].eq("34301"), "id"])


def test_lecture_d_une_commune_ne_lit_pas_les_autres(dossier, monkeypatch):
    lus = []
    lecteur = partitions.pq.read_table

    def compter(chemin, *args, **kwargs):
        lus.append(str(chemin))
        return lecteur(chemin, *args, **kwargs)

    monkeypatch.setattr(partitions.pq, "read_table", compter)
    table = lire_couche("parcelles", dossier, communes=["34301"])
    assert len(table) and set(table["commune"]) == {"34301"}
    assert len(lus) == 1 and "code_insee=34301" in lus[0]
    # Les autres partitions peuvent même être abîmées : elles ne sont pas ouvertes.
    for code, entree in lire_manifeste("parcelles", dossier)["partitions"].items():
        if code != "34301":
            (dossier / "parcelles" / entree["fichier"]).write_bytes(b"abime")
    assert len(lire_couche("parcelles", dossier, communes=["34301"])) == len(table)


def test_partition_manquante_ou_illisible_nommee_les_autres_lues(dossier):
    manifeste = lire_manifeste("parcelles", dossier)
    (dossier / "parcelles" / manifeste["partitions"]["34157"]["fichier"]).unlink()
    (dossier / "parcelles" / manifeste["partitions"]["34113"]["fichier"]).write_bytes(b"PAR1tronque")
    with pytest.raises(ErreurPartitions, match="34157") as erreur:
        lire_couche("parcelles", dossier)
    assert sorted(erreur.value.communes) == ["34113", "34157"] and "34113" in str(erreur.value)
    manquantes: list[str] = []
    reste = lire_couche("parcelles", dossier, manquantes=manquantes)
    assert sorted(manquantes) == ["34113", "34157"]
    assert len(reste) and not set(reste["commune"]) & {"34113", "34157"}
    inconnue: list[str] = []
    assert len(lire_couche("parcelles", dossier, communes=["34301", "99999"], manquantes=inconnue))
    assert inconnue == ["99999"]
    constats = cli_verifier(dossier)
    assert "34157" in constats and "34113" in constats


def cli_verifier(dossier) -> str:
    from donnees.verification import _verifier_partitions

    return " ".join(c.message for c in _verifier_partitions(dossier))


def test_ecriture_interrompue_laisse_l_ancienne_couche(dossier, monkeypatch):
    avant = lire_couche("occupation", dossier)
    signature = signer_fichiers(chemin_couche("occupation", dossier))
    ecrire = partitions._poser_fichier
    appels = []

    def panne(*args, **kwargs):
        appels.append(1)
        if len(appels) == 3:
            raise OSError(28, "No space left on device")
        return ecrire(*args, **kwargs)

    monkeypatch.setattr(partitions, "_poser_fichier", panne)
    nouvelle = avant.assign(code_cs="CS1.1.1.1")
    with pytest.raises(OSError):
        ecrire_couche("occupation", nouvelle, dossier)
    monkeypatch.undo()
    _egales(lire_couche("occupation", dossier), avant)
    assert signer_fichiers(chemin_couche("occupation", dossier)) == signature
    # L'écriture suivante retire les fichiers orphelins de l'écriture interrompue.
    ecrire_couche("occupation", nouvelle, dossier)
    fichiers = {p.relative_to(dossier / "occupation").as_posix()
                for p in (dossier / "occupation").rglob("*.parquet")}
    assert fichiers == {e["fichier"] for e in lire_manifeste("occupation", dossier)["partitions"].values()}
    assert set(lire_couche("occupation", dossier)["code_cs"]) == {"CS1.1.1.1"}
    assert signer_fichiers(chemin_couche("occupation", dossier)) != signature


def test_ecriture_fautive_refusee_a_l_ecriture(dossier):
    parcelles = lire_couche("parcelles", dossier)
    with pytest.raises(ErreurDonnees, match="contenance"):
        ecrire_couche("parcelles", parcelles.assign(contenance=-1), dossier)
    with pytest.raises(ErreurDonnees, match="autre commune"):
        partitions.ecrire_partition("parcelles", "34301", parcelles.head(3), dossier)
    _egales(lire_couche("parcelles", dossier), parcelles)


def test_remplacer_une_seule_partition(dossier):
    avant = lire_couche("parcelles", dossier)
    manifeste = lire_manifeste("parcelles", dossier)
    sete = avant[avant["commune"].eq("34301")].head(10).reset_index(drop=True)
    partitions.ecrire_partition("parcelles", "34301", sete, dossier)
    apres = lire_manifeste("parcelles", dossier)
    assert list(apres["partitions"]) == list(manifeste["partitions"])  # même ordre
    assert apres["partitions"]["34301"]["lignes"] == 10
    assert all(apres["partitions"][c] == e for c, e in manifeste["partitions"].items() if c != "34301")
    assert not (dossier / "parcelles" / manifeste["partitions"]["34301"]["fichier"]).exists()
    _egales(lire_couche("parcelles", dossier, communes=["34301"]), sete)
    assert len(lire_couche("parcelles", dossier)) == len(avant) - int(avant["commune"].eq("34301").sum()) + 10


def test_ancien_format_lu_puis_converti(dossier, capsys):
    entiere = lire_couche("parcelles", dossier)
    shutil.rmtree(dossier / "parcelles")
    ecrire_couche("parcelles", entiere, dossier, partitionner=False)
    assert (dossier / "parcelles.parquet").exists() and not est_partitionnee("parcelles", dossier)
    assert chemin_couche("parcelles", dossier) == dossier / "parcelles.parquet"
    _egales(lire_couche("parcelles", dossier), entiere)
    sete = lire_couche("parcelles", dossier, communes=["34301"], colonnes=["id"])
    assert list(sete.columns) == ["id"] and len(sete) == int(entiere["commune"].eq("34301").sum())
    assert cli.main(["couches", "partitionner", "--dossier", str(dossier)]) == 0
    sortie = capsys.readouterr().out
    assert "parcelles : rangée par commune" in sortie and "occupation : déjà rangée" in sortie
    assert est_partitionnee("parcelles", dossier) and not (dossier / "parcelles.parquet").exists()
    _egales(lire_couche("parcelles", dossier), entiere)


def test_manifeste_d_une_autre_version_refuse(dossier):
    chemin = chemin_manifeste("parcelles", dossier)
    manifeste = json.loads(chemin.read_text(encoding="utf-8"))
    chemin.write_text(json.dumps({**manifeste, "version": 99}), encoding="utf-8")
    with pytest.raises(ErreurDonnees, match="version 99"):
        lire_couche("parcelles", dossier)
    chemin.write_text("{tronqué", encoding="utf-8")
    with pytest.raises(ErreurDonnees, match="illisible"):
        lire_couche("parcelles", dossier)


def test_couche_facultative_absente_vide_avec_selection(tmp_path):
    vide = lire_couche_facultative("batiments", tmp_path, communes=["34301"], colonnes=["id", "commune"])
    assert list(vide.columns) == ["id", "commune"] and len(vide) == 0
