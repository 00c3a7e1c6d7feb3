"""Mise à jour incrémentale des grilles chaleur et eau (indicateurs/mise_a_jour.py) : elle doit donner le même
résultat que le calcul complet — T_air à 1e-6 °C près sur toutes les cellules, volumes d'eau à 1e-9 près en
relatif, tables par commune et par opération identiques (moyennes à 1e-9 °C près, comptes exacts)."""

from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from indicateurs import chaleur as ch
from indicateurs import grille as gr
from indicateurs.eau_grille import calculer_eau_territoire, compter_scenarios_eau, tabuler_eau_territoire
from indicateurs.mise_a_jour import comparer_zones, mettre_a_jour_chaleur
from indicateurs.parametres import lire_parametres

SCENARIOS = tuple(gr.SCENARIOS)
X0, Y0 = 700000.0, 6250000.0
PARAMS = ch.ParametresChaleur.depuis_parametres(lire_parametres())


def verifier_egal(incremental: ch.ChaleurTerritoire, complet: ch.ChaleurTerritoire) -> None:
    """Mêmes grilles T_air (1e-6 °C), mêmes tables par commune et par opération, même clé."""
    assert incremental.cle == complet.cle
    for nom in SCENARIOS:
        a, b = incremental.t_air[nom], complet.t_air[nom]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        assert np.nanmax(np.abs(a - b)) <= 1e-6, nom
    for table_a, table_b in ((incremental.communes, complet.communes),
                             (incremental.operations, complet.operations)):
        entiers = [c for c in table_b.columns if c.startswith(("surface", "cellules", "delta_surface"))]
        pd.testing.assert_frame_equal(table_a[entiers], table_b[entiers], check_exact=True)
        pd.testing.assert_frame_equal(table_a, table_b, check_exact=False, rtol=1e-12, atol=1e-9)  # °C


def verifier_eau(etat: dict, occupation, zones) -> None:
    incremental = tabuler_eau_territoire(etat["comptes_eau"], occupation)
    complet = calculer_eau_territoire(occupation, zones)
    pd.testing.assert_frame_equal(incremental, complet, check_exact=False, rtol=1e-9, atol=0)


# ------------------------------------------------------------------------------------ cas synthétique


@pytest.fixture(scope="module")
def occupation_synthetique():
    """Deux communes de 2 km × 1,5 km : bâti et enrobé à l'ouest (avec un parc), vigne et pelouse à l'est."""
    communes = gpd.GeoDataFrame({"code_insee": ["34001", "34002"]},
                                geometry=[box(X0, Y0, X0 + 2000, Y0 + 1500), box(X0 + 2000, Y0, X0 + 4000, Y0 + 1500)],
                                crs="EPSG:2154")
    occupation = gpd.GeoDataFrame(
        {"code_cs": ["CS1.1.1.1", "CS1.1.1.2", "CS2.2.1", "CS2.2.1", "CS2.1.1.1"],
         "code_us": [None, None, "US1.1", None, None]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1500), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1500),
                  box(X0 + 2000, Y0, X0 + 3000, Y0 + 1500), box(X0 + 3000, Y0, X0 + 4000, Y0 + 1500),
                  box(X0 + 400, Y0 + 600, X0 + 700, Y0 + 900)], crs="EPSG:2154")
    occ = gr.preparer_occupation_grille(occupation, communes, 10, 100, 0.5)
    occ.meta["cle"] = "synthetique"
    return occ


def _zones(lignes) -> gpd.GeoDataFrame:
    """Zones (zone_id, operation_id, statut, avant, après, x0, y0, x1, y1 relatifs à l'origine)."""
    colonnes = ["zone_id", "operation_id", "statut", "revetement_avant", "revetement_apres"]
    table = pd.DataFrame([ligne[:5] for ligne in lignes], columns=colonnes)
    table["code_insee"] = "34001"
    return gpd.GeoDataFrame(table, geometry=[box(X0 + a, Y0 + b, X0 + c, Y0 + d) for *_, a, b, c, d in lignes],
                            crs="EPSG:2154").to_crs("EPSG:4326")


ZONES_DEPART = [
    (1, 10, "realisee", "enrobe", "pelouse", 1200, 300, 1300, 420),
    (2, 10, "realisee", "enrobe", "arbres", 1300, 300, 1360, 360),
    (3, 11, "programmee", "bati", "pelouse", 300, 1000, 380, 1080),
    (4, 12, "realisee", "enrobe", "massif", 1500, 900, 1620, 980),
]


def _complet(occupation, zones):
    return ch.calculer_chaleur_territoire(occupation, zones, PARAMS, occupation.meta["cle"], utiliser_cache=False)


def test_changements_successifs_egaux_au_calcul_complet(occupation_synthetique):
    occ = occupation_synthetique
    zones = _zones(ZONES_DEPART)
    base = _complet(occ, zones)
    base.meta["etat"]["comptes_eau"] = compter_scenarios_eau(base.meta["etat"]["revetements"], occ)
    etapes = [
        ZONES_DEPART + [(5, 13, "realisee", "enrobe", "arbres", 800, 200, 900, 260)],               # ajout
        ZONES_DEPART + [(5, 13, "realisee", "enrobe", "arbres", 820, 200, 950, 300)],               # géométrie
        [z if z[0] != 3 else (3, 11, "realisee", "bati", "pelouse", 300, 1000, 380, 1080)          # statut
         for z in ZONES_DEPART] + [(5, 13, "realisee", "enrobe", "arbres", 820, 200, 950, 300)],
        [z for z in ZONES_DEPART if z[1] != 10] + [(5, 13, "realisee", "beton", "arbres", 820, 200, 950, 300)],
        [],                                                                                          # tout retiré
        [(6, 14, "realisee", "enrobe", "pelouse", 0, 0, 60, 1500),                                   # bord ouest
         (7, 15, "realisee", "enrobe", "arbres", 1950, 700, 2050, 800)],                             # deux communes
    ]
    for lignes in etapes:
        zones = _zones(lignes) if lignes else _zones(ZONES_DEPART).iloc[:0]
        incremental = mettre_a_jour_chaleur(base, occ, zones, PARAMS, occ.meta["cle"], SCENARIOS)
        assert incremental is not None and "etat" not in base.meta
        verifier_egal(incremental, _complet(occ, zones))
        verifier_eau(incremental.meta["etat"], occ, zones)
        base = incremental
    operations = incremental.operations.set_index("operation_id")
    assert operations.loc[15, "delta_t_emprise_c"] < 0 and operations.loc[14, "cellules_emprise"] == 6 * 150


def test_grandeur_globale_changee_recalcul_complet(occupation_synthetique):
    occ = occupation_synthetique
    zones = _zones(ZONES_DEPART)
    base = _complet(occ, zones)
    autres = ch.ParametresChaleur(**{**PARAMS.__dict__, "uhi_max_c": 4.0})
    assert mettre_a_jour_chaleur(base, occ, zones, autres, occ.meta["cle"], SCENARIOS) is None
    assert mettre_a_jour_chaleur(base, occ, zones, PARAMS, "autre occupation", SCENARIOS) is None
    assert "etat" in base.meta  # l'état reste au résultat quand rien n'a été mis à jour


def test_comparaison_des_zones():
    avant = _zones(ZONES_DEPART)
    apres = _zones(ZONES_DEPART[:2] + [(4, 12, "realisee", "enrobe", "pelouse", 1500, 900, 1620, 980)])
    changement = comparer_zones(avant, apres)
    assert changement.zones.tolist() == [3, 4] and changement.operations.tolist() == [11, 12]
    assert len(changement.geometries) == 3  # zone 3 (ancienne), zone 4 (ancienne et nouvelle)
    inverse = _zones([ZONES_DEPART[1], ZONES_DEPART[0]] + ZONES_DEPART[2:])
    assert comparer_zones(avant, inverse) is None  # ordre de gravure changé : calcul complet


# ------------------------------------------------------------------------------------ démonstration


@pytest.fixture(scope="module")
def demo_40m(dossier_demo, tmp_path_factory):
    """Copie de la démonstration « petite » avec une grille de 40 m (calcul complet en quelques secondes)."""
    from donnees.referentiel import ecrire_territoire, lire_territoire

    copie = tmp_path_factory.mktemp("demo_mise_a_jour") / "demo"
    shutil.copytree(dossier_demo, copie, ignore=shutil.ignore_patterns("cache"))
    territoire = lire_territoire(copie)
    territoire["parametres"] = {**territoire.get("parametres", {}), "resolution_grille_m": 40}
    ecrire_territoire(territoire, copie)
    return copie


def test_ecritures_du_magasin_egales_au_calcul_complet(demo_40m):
    """Valider, modifier (zones redessinées), supprimer une opération : la page relit des modèles mis à jour
    incrémentalement, égaux au calcul complet."""
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_territoire
    from services.modeles import _lire_zones_modeles, attendre_ecritures_cache, calculer_modeles_territoire

    ch.vider_cache_memoire()
    calculer_modeles_territoire(demo_40m)
    magasin = Magasin(url_base(demo_40m))
    operations = magasin.lire_operations()
    attente = operations[operations["validation"] != "validee"]
    validees = operations[operations["validation"] == "validee"]
    cible, autre = int(attente["operation_id"].iloc[0]), int(validees["operation_id"].iloc[1])

    def version(operation_id):
        return int(magasin.lire_operations().set_index("operation_id").loc[operation_id, "version"])

    zones_autre = magasin.lire_zones().query("operation_id == @autre")
    decalees = [{"geometrie": g, "revetement_avant": a, "revetement_apres": "arbres"} for g, a in
                zip(zones_autre.geometry.translate(0.0005, 0.0003), zones_autre["revetement_avant"])]
    ecritures = [
        lambda: magasin.modifier_operation(cible, version(cible), {"validation": "validee"}, "test@x.fr"),
        lambda: magasin.modifier_operation(autre, version(autre), {"zones": decalees}, "test@x.fr"),
        lambda: magasin.supprimer_operation(cible, version(cible), "test@x.fr"),
    ]
    for ecrire in ecritures:
        ecrire()
        modeles = calculer_modeles_territoire(demo_40m)
        assert "mise_a_jour" in modeles.chaleur.meta, "la mise à jour incrémentale n'a pas servi"
        occupation, zones = modeles.occupation, _lire_zones_modeles(demo_40m)
        verifier_egal(modeles.chaleur, ch.calculer_chaleur_territoire(
            occupation, zones, modeles.chaleur.parametres, occupation.meta["cle"], utiliser_cache=False))
        parametres = lire_parametres(lire_territoire(demo_40m)["parametres"])
        pd.testing.assert_frame_equal(modeles.eau_communes, calculer_eau_territoire(occupation, zones, parametres),
                                      check_exact=False, rtol=1e-9, atol=0)
    attendre_ecritures_cache()
    assert list((demo_40m / "cache").glob(f"chaleur_{modeles.chaleur.cle}.npz"))



def test_etat_reconstruit_apres_relecture_du_disque(demo_40m):
    """Après un redémarrage (cache mémoire vide, résultat relu sur disque), l'application reconstruit l'état en
    arrière-plan : l'écriture suivante est mise à jour incrémentalement."""
    from services import modeles as services_modeles

    services_modeles.calculer_modeles_territoire(demo_40m)
    services_modeles.attendre_ecritures_cache()
    ch.vider_cache_memoire()
    services_modeles._PREPARATIONS.clear()
    relu = services_modeles.calculer_modeles_territoire(demo_40m, preparer_etat=True)
    assert "etat" not in relu.chaleur.meta  # relu sur disque
    for fil in list(services_modeles._PREPARATIONS.values()):
        fil.join()
    reconstruit = ch.lire_cache_memoire(relu.chaleur.cle)
    assert reconstruit is not relu.chaleur and "etat" in reconstruit.meta
    np.testing.assert_allclose(reconstruit.t_air["realisees"], relu.chaleur.t_air["realisees"], rtol=0, atol=1e-6)


def test_etat_prepare_a_la_demande_seulement(demo_40m):
    """Application : relu sur disque au premier affichage, l'état n'est pas reconstruit tout de suite (il
    disputerait les processeurs à la page) mais quand un compte connecté charge les modèles
    (:func:`services.modeles.lancer_preparations_etat`), avec le même résultat."""
    from services import modeles as services_modeles

    services_modeles.calculer_modeles_territoire(demo_40m)
    services_modeles.attendre_ecritures_cache()
    ch.vider_cache_memoire()
    services_modeles._PREPARATIONS.clear()
    services_modeles._EN_ATTENTE.clear()
    relu = services_modeles.calculer_modeles_territoire(demo_40m, preparer_etat="a_la_demande")
    assert "etat" not in relu.chaleur.meta and not services_modeles._PREPARATIONS
    assert len(services_modeles._EN_ATTENTE) == 1
    assert services_modeles.lancer_preparations_etat() == 1
    assert not services_modeles._EN_ATTENTE and services_modeles.lancer_preparations_etat() == 0
    for fil in list(services_modeles._PREPARATIONS.values()):
        fil.join()
    reconstruit = ch.lire_cache_memoire(relu.chaleur.cle)
    assert reconstruit is not relu.chaleur and "etat" in reconstruit.meta
    np.testing.assert_allclose(reconstruit.t_air["realisees"], relu.chaleur.t_air["realisees"], rtol=0, atol=1e-6)
