"""Surfaces imperméables par commune : calculées partition par partition, gardées sur disque, une partition
absente signalée sans empêcher les autres (services/surfaces.py)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from donnees.partitions import ErreurPartitions, est_partitionnee, lire_manifeste
from donnees.referentiel import lire_couche
from indicateurs.surfaces import calculer_surface_impermeable_communes
from services import surfaces


@pytest.fixture
def dossier(dossier_demo, tmp_path):
    copie = tmp_path / "demo"
    shutil.copytree(dossier_demo, copie)
    shutil.rmtree(copie / "cache", ignore_errors=True)
    assert est_partitionnee("occupation", copie)
    return copie


def test_egal_au_calcul_d_un_seul_tenant_puis_relu_sur_disque(dossier, monkeypatch):
    attendu = calculer_surface_impermeable_communes(lire_couche("occupation", dossier))
    obtenu = surfaces.calculer_surfaces_impermeables(dossier)
    pd.testing.assert_frame_equal(obtenu, attendu, check_exact=False, rtol=1e-12)
    assert (dossier / "cache" / surfaces.FICHIER_CACHE).is_file()
    calculs = []
    original = surfaces.calculer_surface_impermeable_communes
    monkeypatch.setattr(surfaces, "calculer_surface_impermeable_communes",
                        lambda table: calculs.append(set(table["code_insee"])) or original(table))
    pd.testing.assert_frame_equal(surfaces.calculer_surfaces_impermeables(dossier), obtenu)
    assert calculs == []  # rien de recalculé : toutes les communes relues dans le cache
    # Une commune réécrite (nouveau fichier, nouvelle empreinte) : elle seule est recalculée.
    from donnees.partitions import ecrire_partition

    code = sorted(lire_manifeste("occupation", dossier)["partitions"])[0]
    morceau = lire_couche("occupation", dossier, communes=[code])
    ecrire_partition("occupation", code, morceau.iloc[: len(morceau) // 2], dossier)
    nouveau = surfaces.calculer_surfaces_impermeables(dossier)
    assert calculs == [{code}]
    pd.testing.assert_frame_equal(
        nouveau, calculer_surface_impermeable_communes(lire_couche("occupation", dossier)),
        check_exact=False, rtol=1e-12)


def test_partition_absente_signalee_les_autres_comptees(dossier):
    attendu = calculer_surface_impermeable_communes(lire_couche("occupation", dossier))
    code = str(attendu["code_insee"].iloc[1])
    shutil.rmtree(dossier / "occupation" / f"code_insee={code}")
    manquantes: list = []
    obtenu = surfaces.calculer_surfaces_impermeables(dossier, manquantes)
    assert manquantes == [code]
    pd.testing.assert_frame_equal(obtenu, attendu[attendu["code_insee"] != code].reset_index(drop=True),
                                  check_exact=False, rtol=1e-12)
    with pytest.raises(ErreurPartitions, match=code):
        surfaces.calculer_surfaces_impermeables(dossier)


def test_cache_abime_recalcule(dossier):
    attendu = surfaces.calculer_surfaces_impermeables(dossier)
    (dossier / "cache" / surfaces.FICHIER_CACHE).write_bytes(b"pas du parquet")
    pd.testing.assert_frame_equal(surfaces.calculer_surfaces_impermeables(dossier), attendu)


def test_grille_rasterisee_commune_par_commune_egale_a_la_couche_entiere(dossier):
    """La grille d'occupation du territoire, gravée partition par partition (mémoire bornée par la plus grosse
    commune), est identique cellule par cellule à celle de la couche lue entière."""
    import numpy as np

    from indicateurs.grille import preparer_occupation_grille
    from indicateurs.parametres import lire_parametres
    from services.modeles import COLONNES_GRILLE, lire_occupation_par_commune

    parametres = lire_parametres()
    reglages = (parametres["resolution_grille_m"], parametres["rayon_tissu_urbain_m"],
                parametres["part_artificialisee_tissu_urbain"])
    communes = lire_couche("communes", dossier, colonnes=["code_insee", "geometry"])
    morceaux = list(lire_occupation_par_commune(dossier))
    assert len(morceaux) == len(lire_manifeste("occupation", dossier)["partitions"]) > 1
    par_commune = preparer_occupation_grille(iter(morceaux), communes, *reglages)
    entiere = preparer_occupation_grille(lire_couche("occupation", dossier, colonnes=COLONNES_GRILLE), communes,
                                         *reglages)
    for nom in ("revetement", "artificialise", "commune", "urbain"):
        assert np.array_equal(getattr(par_commune, nom), getattr(entiere, nom)), nom
    assert par_commune.grille == entiere.grille
