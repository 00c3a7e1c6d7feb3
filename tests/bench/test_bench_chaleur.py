"""Mesures (make bench) des modèles sur grille à la taille « complète » de la démonstration.

Budgets (CONCEPTION §7, issue 12) :
- chaleur sur tout le bassin à 10 m, 3 scénarios, ≤ 30 s — chronométré de bout en bout à froid :
  lecture des couches, rastérisation de l'occupation, masque urbain, zones gravées, 3 scénarios, tables par
  commune et par opération (les caches mémoire et disque sont contournés) ; temps par étape ;
- au moins 6 fois plus rapide qu'InVEST 3.20.2 sur une grille de 3000 × 3000 cellules (scénario
  « réalisées » de la démonstration), mêmes fichiers, fichiers → fichiers, chaque passage dans un processus
  neuf, InVEST et Désimper en alternance (médiane des rapports de ≥ 3 paires) ; T_air à 1e-4 °C partout ;
  mémoire de pointe (VmHWM du processus) ≤ 1,5 fois celle d'InVEST. InVEST vient d'un environnement séparé
  (``$DESIMPER_PYTHON_INVEST``, défaut ``/tmp/venv_invest/bin/python``), construit par
  ``bash tests/bench/installer_invest.sh`` ; absent, la comparaison est ignorée (échec sous ``CI=true``) ;
- eau par commune (3 scénarios) ≤ 1 s.
Médianes de plusieurs passages ; chiffres et conditions (charge de la machine) écrits dans
tests/sorties/bench_chaleur.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import box

import services.modeles as invest
from donnees.config import url_base
from donnees.magasin import Magasin
from indicateurs import chaleur as ch
from indicateurs.eau_grille import calculer_eau_territoire
from indicateurs.grille import Grille
from indicateurs.parametres import lire_parametres, lire_parametres_revetements
from outils import RACINE, enregistrer_mesure, manquer

PYTHON_INVEST = Path(os.environ.get("DESIMPER_PYTHON_INVEST", "/tmp/venv_invest/bin/python"))
PASSAGES = 3


def _enregistrer(cle: str, valeur) -> None:
    enregistrer_mesure("bench_chaleur.json", cle, valeur)


def _mediane(fonction, passages: int = PASSAGES) -> tuple[float, list[float], object]:
    durees, resultat = [], None
    for _ in range(passages):
        debut = time.perf_counter()
        resultat = fonction()
        durees.append(time.perf_counter() - debut)
    return statistics.median(durees), [round(d, 2) for d in durees], resultat


@pytest.fixture(scope="module")
def entrees(demo_complete):
    parametres = lire_parametres()
    occupation = invest.preparer_grille_territoire(demo_complete, parametres, cache_disque=False)
    zones = Magasin(url_base(demo_complete)).lire_zones()
    return parametres, occupation, zones


def test_chaleur_bassin_de_bout_en_bout(demo_complete, entrees):
    parametres, _, zones = entrees
    p = ch.ParametresChaleur.depuis_parametres(parametres)

    def tout_calculer():
        invest._GRILLES.clear()
        occupation = invest.preparer_grille_territoire(demo_complete, parametres, cache_disque=False)
        return ch.calculer_chaleur_territoire(occupation, zones, p, occupation.meta["cle"], utiliser_cache=False)

    mediane, durees, resultat = _mediane(tout_calculer)
    occupation = invest.preparer_grille_territoire(demo_complete, parametres, cache_disque=False)
    mediane_modele, durees_modele, _ = _mediane(
        lambda: ch.calculer_chaleur_territoire(occupation, zones, p, "bench", utiliser_cache=False))
    _enregistrer("chaleur_bassin", {
        "grille": f"{occupation.grille.hauteur} × {occupation.grille.largeur} cellules de "
                  f"{occupation.grille.resolution:g} m ({occupation.grille.hauteur * occupation.grille.largeur:,} "
                  "cellules)".replace(",", " "),
        "zones": len(zones), "operations": int(zones["operation_id"].nunique()),
        "de_bout_en_bout_3_scenarios_mediane_s": round(mediane, 2), "de_bout_en_bout_durees_s": durees,
        "modele_3_scenarios_grille_prete_mediane_s": round(mediane_modele, 2),
        "modele_3_scenarios_durees_s": durees_modele,
        "rasterisation_et_masque_urbain_s": round(mediane - mediane_modele, 2),
    })
    assert len(resultat.communes) == 75 and len(resultat.operations) == zones["operation_id"].nunique()
    assert mediane <= 30


def test_chaleur_cache(demo_complete, entrees, tmp_path):
    parametres, occupation, zones = entrees
    p = ch.ParametresChaleur.depuis_parametres(parametres)
    ch.vider_cache_memoire()
    premier = ch.calculer_chaleur_territoire(occupation, zones, p, "bench-cache")
    mediane, _, second = _mediane(lambda: ch.calculer_chaleur_territoire(occupation, zones, p, "bench-cache"), 5)
    assert second is premier
    _enregistrer("chaleur_cache_memoire_mediane_s", round(mediane, 3))


def test_eau_toutes_communes(entrees):
    parametres, occupation, zones = entrees
    mediane, durees, table = _mediane(lambda: calculer_eau_territoire(occupation, zones, parametres), 5)
    _enregistrer("eau_communes_3_scenarios", {"mediane_s": round(mediane, 3), "durees_s": durees})
    assert len(table) == 75
    assert mediane <= 1


def _ecrire_entrees_invest(dossier: Path, grille, revetement: np.ndarray, parametres) -> dict:
    """Grille du scénario en GeoTIFF (lucode = indice de revêtement), ET0 uniforme, table, zone d'étude ;
    paramètres aussi au format JSON de Désimper (``parametres.json``). Renvoie les arguments d'InVEST."""
    profil = {"driver": "GTiff", "height": grille.hauteur, "width": grille.largeur, "count": 1,
              "crs": grille.crs, "transform": grille.transform, "tiled": True, "blockxsize": 256,
              "blockysize": 256, "compress": "deflate"}
    with rasterio.open(dossier / "lulc.tif", "w", **profil, dtype="int32", nodata=0) as cible:
        cible.write(revetement.astype(np.int32), 1)
    with rasterio.open(dossier / "et0.tif", "w", **profil, dtype="float32", nodata=-9999.0) as cible:
        cible.write(np.full(grille.forme, parametres["et0_mm_jour"], np.float32), 1)
    table = lire_parametres_revetements()
    pd.DataFrame({"lucode": np.arange(1, len(table) + 1), "kc": table["kc"].to_numpy(),
                  "green_area": table["espace_vert"].to_numpy(), "shade": table["ombre"].to_numpy(),
                  "albedo": table["albedo"].to_numpy()}).to_csv(dossier / "biophysique.csv", index=False)
    gpd.GeoDataFrame({"zone": ["bassin"]}, geometry=[box(*grille.emprise)], crs=grille.crs).to_file(
        dossier / "zone.geojson")
    args = {"workspace_dir": "", "results_suffix": "",
            "lulc_raster_path": str(dossier / "lulc.tif"), "ref_eto_raster_path": str(dossier / "et0.tif"),
            "aoi_vector_path": str(dossier / "zone.geojson"),
            "biophysical_table_path": str(dossier / "biophysique.csv"),
            "t_ref": parametres["t_ref_c"], "uhi_max": parametres["uhi_max_c"],
            "t_air_average_radius": parametres["r_mix_m"], "green_area_cooling_distance": parametres["d_cool_m"],
            "cc_method": "factors", "do_energy_valuation": False, "do_productivity_valuation": False,
            "cc_weight_shade": parametres["poids_ombre"], "cc_weight_albedo": parametres["poids_albedo"],
            "cc_weight_eti": parametres["poids_eti"], "n_workers": -1}
    (dossier / "parametres.json").write_text(json.dumps({cle: args[cle] for cle in (
        "t_ref", "uhi_max", "t_air_average_radius", "green_area_cooling_distance", "cc_weight_shade",
        "cc_weight_albedo", "cc_weight_eti")}))
    return args


# Chaque modèle tourne dans un processus neuf : durée de l'appel (imports exclus) et mémoire de pointe du
# processus (VmHWM de /proc/self/status, en Kio), avant l'appel (imports) et à la fin. Pas ru_maxrss : Linux
# le garde à travers execve, le processus lancé hériterait du pic de pytest.
MESURE = """
import json, sys, time
def pic_mio():
    with open("/proc/self/status") as etat:
        for ligne in etat:
            if ligne.startswith("VmHWM:"):
                return int(ligne.split()[1]) / 1024
"""
SCRIPT_INVEST = MESURE + """
import logging
logging.basicConfig(level=logging.WARNING)
from natcap.invest.urban_cooling_model import urban_cooling_model as ucm
args = json.loads(sys.argv[1])
avant = pic_mio()
debut = time.perf_counter()
ucm.execute(args)
print(json.dumps({"duree_s": time.perf_counter() - debut, "pic_imports_mio": avant, "pic_mio": pic_mio(),
                  "t_air": args["workspace_dir"] + "/T_air.tif"}))
"""
SCRIPT_DESIMPER = MESURE + """
from pathlib import Path
from services.modeles import executer_chaleur_invest
args = json.loads(sys.argv[1])
d = Path(args["lulc_raster_path"]).parent
avant = pic_mio()
debut = time.perf_counter()
executer_chaleur_invest(d / "lulc.tif", d / "biophysique.csv", d / "et0.tif", d / "zone.geojson",
                        d / "parametres.json", args["workspace_dir"])
print(json.dumps({"duree_s": time.perf_counter() - debut, "pic_imports_mio": avant, "pic_mio": pic_mio(),
                  "t_air": args["workspace_dir"] + "/T_air.tif"}))
"""
COTE_INVEST = 3000  # grille comparée : 3000 × 3000 cellules (issue 12)
PAIRES_INVEST = 3


def _invest_disponible() -> str | None:
    """Version de natcap.invest dans ``$DESIMPER_PYTHON_INVEST``, ou ``None``."""
    if not PYTHON_INVEST.exists():
        return None
    essai = subprocess.run([str(PYTHON_INVEST), "-c", "import natcap.invest; print(natcap.invest.__version__)"],
                           capture_output=True, text=True)
    return essai.stdout.strip() if essai.returncode == 0 else None


def _lancer(python: str, script: str, args: dict, dossier: Path) -> dict:
    """Un passage dans un processus neuf ; renvoie durée, mémoire de pointe et chemin de T_air."""
    args = {**args, "workspace_dir": str(dossier)}
    environnement = dict(os.environ, PYTHONPATH=str(RACINE))
    execution = subprocess.run([python, "-c", script, json.dumps(args)], capture_output=True, text=True,
                               timeout=1800, env=environnement, cwd=RACINE)
    assert execution.returncode == 0, execution.stderr[-3000:]
    return json.loads(execution.stdout.strip().splitlines()[-1])


def _decouper_fenetre(occupation, revetement: np.ndarray, cote: int):
    """Fenêtre ``cote × cote`` au centre de la grille (ou la grille entière si elle est plus petite)."""
    g = occupation.grille
    lignes, colonnes = min(cote, g.hauteur), min(cote, g.largeur)
    l0, c0 = (g.hauteur - lignes) // 2, (g.largeur - colonnes) // 2
    sous = Grille(g.x_min + c0 * g.resolution, g.y_max - l0 * g.resolution, g.resolution, colonnes, lignes, g.crs)
    return sous, revetement[l0:l0 + lignes, c0:c0 + colonnes]


def _conditions(protocole: str) -> dict:
    return {"coeurs": os.cpu_count(), "charge_1_5_15_min": [round(c, 2) for c in os.getloadavg()],
            "protocole": protocole,
            "note": "machine partagée (2 cœurs, autres travaux en cours) : médianes, charge relevée à la fin"}


def _ecart_t_air(chemin_a: str, chemin_b: str) -> dict:
    with rasterio.open(chemin_a) as a, rasterio.open(chemin_b) as b:
        ga, gb = a.read(1, masked=True), b.read(1, masked=True)
    garde = ~np.ma.getmaskarray(ga) & ~np.ma.getmaskarray(gb)
    ecart = np.abs(ga.data[garde].astype(np.float64) - gb.data[garde])
    return {"cellules_comparees": int(garde.sum()), "ecart_max_c": float(ecart.max()),
            "masques_identiques": bool(np.array_equal(np.ma.getmaskarray(ga), np.ma.getmaskarray(gb)))}


def test_plus_rapide_qu_invest(entrees, tmp_path):
    """Même grille 3000 × 3000 (scénario « réalisées »), mêmes fichiers : InVEST 3.20.2 (environnement séparé,
    tests/bench/installer_invest.sh) et Désimper (mode InVEST, fichiers → fichiers) en alternance.
    Exigé : ≥ 6 fois plus rapide (médiane des rapports par paire), T_air à 1e-4 °C partout, mémoire de pointe
    ≤ 1,5 fois celle d'InVEST."""
    parametres, occupation, zones = entrees
    from indicateurs.grille import construire_scenarios

    revetement = construire_scenarios(occupation, zones, ("realisees",))["realisees"]
    sous, fenetre = _decouper_fenetre(occupation, revetement, COTE_INVEST)
    args = _ecrire_entrees_invest(tmp_path, sous, fenetre, parametres)
    cellules = sous.hauteur * sous.largeur
    version = _invest_disponible()
    lanceurs = {"desimper": (sys.executable, SCRIPT_DESIMPER)}
    if version:
        lanceurs["invest"] = (str(PYTHON_INVEST), SCRIPT_INVEST)
    passages = {nom: [] for nom in lanceurs}
    for paire in range(PAIRES_INVEST):
        ordre = list(lanceurs) if paire % 2 else list(reversed(lanceurs))
        for nom in ordre:
            passages[nom].append(_lancer(*lanceurs[nom], args, tmp_path / f"{nom}_{paire}"))
    mesure = {"grille": f"{sous.hauteur} × {sous.largeur} cellules de {sous.resolution:g} m",
              "cellules": cellules, "conditions": _conditions(
                  "paires alternées (InVEST puis Désimper, puis Désimper puis InVEST…), processus neufs")}
    for nom, liste in passages.items():
        pics = [p["pic_mio"] for p in liste]
        mesure[nom] = {"durees_s": [round(p["duree_s"], 2) for p in liste],
                       "mediane_s": round(statistics.median(p["duree_s"] for p in liste), 2),
                       "pic_memoire_mio": [round(p, 1) for p in pics],
                       "pic_apres_imports_mio": round(statistics.median(p["pic_imports_mio"] for p in liste), 1),
                       "octets_par_cellule_hors_imports": round(statistics.median(
                           (p["pic_mio"] - p["pic_imports_mio"]) * 2 ** 20 / cellules for p in liste), 1)}
    if not version:
        _enregistrer("comparaison_invest", {**mesure, "invest": "non installé (tests/bench/installer_invest.sh)"})
        manquer(f"InVEST absent de {PYTHON_INVEST} : lancez bash tests/bench/installer_invest.sh")
    rapports = [i["duree_s"] / d["duree_s"] for i, d in zip(passages["invest"], passages["desimper"])]
    pic = {nom: statistics.median(p["pic_mio"] for p in liste) for nom, liste in passages.items()}
    ecart = _ecart_t_air(passages["invest"][-1]["t_air"], passages["desimper"][-1]["t_air"])
    mesure.update({"mode": f"natcap.invest {version} et Désimper (executer_chaleur_invest), mêmes fichiers",
                   "rapports_par_paire": [round(r, 2) for r in rapports],
                   "acceleration_mediane": round(statistics.median(rapports), 2),
                   "memoire_desimper_sur_invest": round(pic["desimper"] / pic["invest"], 2),
                   "ecart_t_air": ecart})
    _enregistrer("comparaison_invest", mesure)
    assert ecart["ecart_max_c"] <= 1e-4 and ecart["masques_identiques"]
    assert statistics.median(rapports) >= 6
    assert pic["desimper"] <= 1.5 * pic["invest"]


def mesurer_etapes(demo: Path, parametres, occupation, zones, sortie: Path, passages: int = PASSAGES) -> dict:
    """Médiane (s) de chaque étape du modèle du territoire, à froid : rastérisation de l'occupation et des
    communes, masque urbain, cellules des opérations (emprise + anneau, cache vidé) et tables par opération,
    3 scénarios du modèle, écriture des 3 grilles T_air."""
    from donnees.rasters import NODATA_T_AIR, ecrire_raster
    from donnees.referentiel import lire_couche
    from indicateurs import grille as gr

    couche = lire_couche("occupation", demo, colonnes=["code_cs", "code_us", "geometry"])
    communes = lire_couche("communes", demo, colonnes=["code_insee", "geometry"])
    g, p = occupation.grille, ch.ParametresChaleur.depuis_parametres(parametres)
    resultat = ch.calculer_chaleur_territoire(occupation, zones, p, "etapes", utiliser_cache=False)

    def operations():
        gr._CELLULES_GEOMETRIES.clear()
        paires = ch.indexer_cellules_operations(zones, g, p)
        return ch.tabuler_chaleur_operations(resultat.t_air, zones, paires)

    etapes = {
        "rasterisation_occupation": lambda: gr.rasteriser_occupation(couche, g),
        "rasterisation_communes": lambda: gr.rasteriser_communes(communes, g),
        "masque_urbain": lambda: gr.calculer_masque_urbain(
            occupation.artificialise, occupation.valide, g.resolution, parametres["rayon_tissu_urbain_m"],
            parametres["part_artificialisee_tissu_urbain"]),
        "statistiques_operations_a_froid": operations,
        "modele_3_scenarios": lambda: ch.calculer_chaleur_territoire(occupation, zones, p, "etapes",
                                                                     utiliser_cache=False),
        "ecriture_t_air_3_scenarios": lambda: [ecrire_raster(sortie / f"T_air_{nom}.tif", grille, g.transform,
                                                             g.crs, NODATA_T_AIR)
                                               for nom, grille in resultat.t_air.items()],
    }
    return {nom: round(_mediane(fonction, passages)[0], 2) for nom, fonction in etapes.items()}


def test_chaleur_etapes(demo_complete, entrees, tmp_path):
    parametres, occupation, zones = entrees
    etapes = mesurer_etapes(demo_complete, parametres, occupation, zones, tmp_path)
    _enregistrer("etapes_territoire_s", {**etapes, "conditions": _conditions(
        f"médiane de {PASSAGES} passages par étape, dans le processus du banc")})
    assert all(duree > 0 for duree in etapes.values())
