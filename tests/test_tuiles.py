"""Grilles chaleur et eau en tuiles (indicateurs/tuiles.py, services/tuiles.py) : même résultat que le calcul
d'un seul tenant (T_air à 1e-6 °C sur chaque cellule, mêmes tables par commune, par opération et pour l'eau),
même résultat sur une vraie grappe ``LocalCluster`` de 2 processus, processus de calcul tué en plein calcul
(calcul repris, ou message français sans rien publier), ordonnanceur injoignable (repli local ou message)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import dask
import numpy as np
import pandas as pd
import pytest

from donnees.erreurs import ErreurDonnees
from indicateurs import chaleur as ch
from indicateurs.eau_grille import calculer_eau_territoire, tabuler_eau_territoire
from indicateurs.parametres import lire_parametres
from indicateurs.tuiles import decouper_axe, preparer_chaleur_tuiles

SCENARIOS = ("sans_operations", "realisees", "realisees_programmees")


def _preparer(dossier):
    """(occupation, zones validées, paramètres chaleur, paramètres) du dossier, sans écrire de cache."""
    from donnees.referentiel import lire_territoire
    from services.modeles import _lire_zones_modeles, preparer_grille_territoire

    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    occupation = preparer_grille_territoire(dossier, parametres, cache_disque=False)
    return occupation, _lire_zones_modeles(dossier), ch.ParametresChaleur.depuis_parametres(parametres), parametres


def _calculer_tuiles(occupation, zones, p_chaleur, taille):
    travail = preparer_chaleur_tuiles(occupation, zones, p_chaleur, taille)
    return travail, travail.assembler(dask.compute(*travail.a_calculer, scheduler="threads"))


def verifier_tables(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Comptes et surfaces exacts, moyennes à 1e-9 °C (sommes faites dans un autre ordre)."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    entiers = [c for c in b.columns if c.startswith(("surface", "cellules", "delta_surface"))]
    pd.testing.assert_frame_equal(a[entiers], b[entiers], check_exact=True, check_dtype=False)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-9, check_dtype=False)


@pytest.fixture(scope="module")
def demo_40m(dossier_demo, tmp_path_factory):
    """Copie de la démonstration « petite » (graine 7) avec une grille de 40 m (grappe et commande)."""
    from donnees.referentiel import ecrire_territoire, lire_territoire

    copie = tmp_path_factory.mktemp("demo_tuiles") / "demo"
    shutil.copytree(dossier_demo, copie, ignore=shutil.ignore_patterns("cache"))
    territoire = lire_territoire(copie)
    territoire["parametres"] = {**territoire.get("parametres", {}), "resolution_grille_m": 40}
    ecrire_territoire(territoire, copie)
    return copie


def test_decoupage_des_axes():
    assert decouper_axe(1000, 300, 125) == (300, 300, 400)  # reste de 100 < halo : fondu dans la précédente
    assert decouper_axe(1000, 300, 50) == (300, 300, 300, 100)
    assert decouper_axe(100, 300, 125) == (100,)
    assert decouper_axe(1000, 100, 125) == (125,) * 8  # tuile relevée au halo


def test_tuiles_egales_au_calcul_complet(dossier_demo):
    """Démo petite à 20 m, tuiles de 600 cellules (3 × 3 tuiles, halos de 110 puis 125 cellules qui se
    recouvrent) : T_air à 1e-6 °C près sur chaque cellule pour les 3 scénarios, mêmes tables par commune et par
    opération, mêmes comptes de l'eau."""
    occupation, zones, p_chaleur, parametres = _preparer(dossier_demo)
    complet = ch.calculer_chaleur_territoire(occupation, zones, p_chaleur, "complet", utiliser_cache=False)
    travail, tuiles = _calculer_tuiles(occupation, zones, p_chaleur, 600)
    assert travail.meta["tuiles"] == (3, 3) and travail.meta["halos"] == (110, 125)
    for nom in SCENARIOS:
        a, b = tuiles["t_air"][nom], complet.t_air[nom]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        assert np.nanmax(np.abs(a - b)) <= 1e-6, nom
    verifier_tables(tuiles["communes"], complet.communes)
    assert len(complet.operations) > 40
    verifier_tables(tuiles["operations"], complet.operations)
    eau = tabuler_eau_territoire(tuiles["comptes_eau"], occupation, parametres)
    pd.testing.assert_frame_equal(eau, calculer_eau_territoire(occupation, zones, parametres))


# ------------------------------------------------------------------------------------ grappe


@pytest.fixture(scope="module")
def grappe():
    """Vraie grappe locale de 2 processus (services.reparti), fermée à la fin du module."""
    from services.reparti import ouvrir_client

    with ouvrir_client(processus=2) as client:
        yield client


@pytest.fixture(scope="module")
def reference_40m(demo_40m):
    """Calcul en tuiles sans grappe (planificateur local), tuiles de 300 cellules (3 × 3) à 40 m."""
    occupation, zones, p_chaleur, _ = _preparer(demo_40m)
    travail, resultat = _calculer_tuiles(occupation, zones, p_chaleur, 300)
    assert travail.meta["tuiles"] == (3, 3)
    return occupation, zones, p_chaleur, resultat


def test_grappe_de_2_processus_meme_resultat(grappe, reference_40m):
    from services.tuiles import calculer_chaleur_tuiles

    occupation, zones, p_chaleur, reference = reference_40m
    assert len(grappe.scheduler_info()["workers"]) == 2
    reparti = calculer_chaleur_tuiles(occupation, zones, p_chaleur, 300, "grappe", None, grappe)
    for nom in SCENARIOS:
        np.testing.assert_array_equal(reparti.t_air[nom], reference["t_air"][nom])
    pd.testing.assert_frame_equal(reparti.communes, reference["communes"])
    pd.testing.assert_frame_equal(reparti.operations, reference["operations"])
    for nom in SCENARIOS:
        np.testing.assert_array_equal(reparti.meta["comptes_eau"][nom], reference["comptes_eau"][nom])


def _tuer_un_processus_en_plein_calcul(client, calcul) -> dict:
    """Lance ``calcul`` dans un fil, tue (SIGKILL) un processus de calcul dès qu'il traite une tâche, attend la
    fin ; rend ``{"resultat" | "erreur": …}``."""
    pids = client.run(os.getpid)
    issue: dict = {}

    def lancer():
        try:
            issue["resultat"] = calcul()
        except ErreurDonnees as exc:
            issue["erreur"] = exc

    fil = threading.Thread(target=lancer)
    fil.start()
    limite = time.monotonic() + 60
    while time.monotonic() < limite:
        occupes = [w for w, taches in client.processing().items() if taches and w in pids]
        if occupes:
            os.kill(pids[occupes[0]], signal.SIGKILL)
            break
        time.sleep(0.02)
    else:
        pytest.fail("aucune tâche en cours sur la grappe")
    fil.join(120)
    assert not fil.is_alive()
    return issue


def _fichiers_cache(dossier_cache):
    return sorted(p.name for p in dossier_cache.glob("*")) if dossier_cache.exists() else []


def test_processus_tue_calcul_repris_puis_echec_sans_rien_publier(grappe, reference_40m, tmp_path):
    """Un processus tué : ses tuiles sont recalculées ailleurs (même résultat, cache complet). Sans nouvelle
    tentative permise (``allowed_failures`` = 0) : message français, aucun fichier (ni tuile partielle)."""
    from services.tuiles import calculer_chaleur_tuiles, relire_chaleur_tuiles

    occupation, zones, p_chaleur, reference = reference_40m
    cache = tmp_path / "cache"
    issue = _tuer_un_processus_en_plein_calcul(grappe, lambda: calculer_chaleur_tuiles(
        occupation, zones, p_chaleur, 300, "repris", cache, grappe))
    repris = issue["resultat"]
    for nom in SCENARIOS:
        np.testing.assert_array_equal(repris.t_air[nom], reference["t_air"][nom].astype(np.float32))
    assert _fichiers_cache(cache) == ["chaleur_repris.npz"] + [f"chaleur_repris_{n}.npy" for n in sorted(SCENARIOS)]
    from donnees.cache_modeles import lire_npz

    relu = relire_chaleur_tuiles(lire_npz(cache / "chaleur_repris.npz"), cache, occupation, p_chaleur, "repris")
    pd.testing.assert_frame_equal(relu.communes, reference["communes"], check_exact=False, rtol=1e-13)
    (cache / "chaleur_repris_realisees.npy").unlink()  # archive sans toutes ses grilles : jamais relue
    assert relire_chaleur_tuiles(lire_npz(cache / "chaleur_repris.npz"), cache, occupation, p_chaleur,
                                 "repris") is None

    grappe.wait_for_workers(2, timeout=60)
    grappe.run_on_scheduler(_interdire_nouvelle_tentative)
    try:
        issue = _tuer_un_processus_en_plein_calcul(grappe, lambda: calculer_chaleur_tuiles(
            occupation, zones, p_chaleur, 300, "echec", cache, grappe))
    finally:
        grappe.run_on_scheduler(_permettre_nouvelles_tentatives)
    assert "erreur" in issue, issue
    message = str(issue["erreur"])
    assert "processus de calcul Dask s'est arrêté" in message and "rien n'a été enregistré" in message
    assert not [f for f in _fichiers_cache(cache) if "echec" in f]  # ni grille partielle, ni archive


def _interdire_nouvelle_tentative(dask_scheduler=None):
    dask_scheduler.allowed_failures = 0


def _permettre_nouvelles_tentatives(dask_scheduler=None):
    dask_scheduler.allowed_failures = dask.config.get("distributed.scheduler.allowed-failures")


# ------------------------------------------------------------------------------------ commande


def test_commande_ordonnanceur_injoignable_repli_local_ou_message(demo_40m, reference_40m, tmp_path, capsys,
                                                                  monkeypatch):
    """`desimper chaleur --reparti` avec un ordonnanceur injoignable : repli sur une grappe locale annoncé,
    mêmes tables ; sans repli permis (dask.repli_local faux) : message français, code 2, rien calculé."""
    import cli
    from donnees.referentiel import ecrire_territoire, lire_territoire
    from services import reparti

    monkeypatch.setattr(reparti, "DELAI_CONNEXION_S", 1)
    monkeypatch.setenv("DESIMPER_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    ch.vider_cache_memoire()
    dossier = tmp_path / "demo"
    shutil.copytree(demo_40m, dossier, ignore=shutil.ignore_patterns("cache"))
    territoire = lire_territoire(dossier)
    territoire["parametres"] = {**territoire["parametres"], "taille_tuile_cellules": 300}
    ecrire_territoire(territoire, dossier)
    assert cli.main(["chaleur", "--dossier", str(dossier), "--sortie", str(tmp_path / "s"), "--reparti"]) == 0
    sortie = capsys.readouterr()
    assert "L'ordonnanceur Dask tcp://127.0.0.1:9 ne répond pas : calcul local sur 1 processus" in sortie.err
    assert "Modèle de chaleur en tuiles de 300 × 300 cellules" in sortie.err
    assert "100 % des tâches" in sortie.err  # barre de progression de Dask, sur l'erreur standard
    lue = pd.read_csv(tmp_path / "s" / "chaleur_communes.csv", dtype={"code_insee": str})
    verifier_tables(lue[["code_insee", "scenario", "surface_urbaine_m2"]],
                    reference_40m[3]["communes"][["code_insee", "scenario", "surface_urbaine_m2"]])
    assert np.allclose(lue["t_air_moyenne_c"], reference_40m[3]["communes"]["t_air_moyenne_c"], atol=1e-9)

    ch.vider_cache_memoire()
    shutil.rmtree(dossier / "cache")
    territoire["dask"] = {"repli_local": False}
    ecrire_territoire(territoire, dossier)
    assert cli.main(["chaleur", "--dossier", str(dossier), "--sortie", str(tmp_path / "t"), "--reparti"]) == 2
    erreur = capsys.readouterr().err
    assert "Erreur : L'ordonnanceur Dask tcp://127.0.0.1:9 ne répond pas" in erreur
    assert "Traceback" not in erreur
    assert not list((dossier / "cache").glob("chaleur_*"))
