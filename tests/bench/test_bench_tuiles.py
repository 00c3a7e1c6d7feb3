"""Banc (pas dans make test) : modèle de chaleur en tuiles sur la démonstration complète (graine 42, 10 m).

Chaque mesure dans un processus neuf (temps et pic mémoire propres ; la grille est rastérisée une fois avant,
dans son propre processus, puis relue du cache) : calcul d'un seul tenant, tuiles sur le
planificateur local de Dask (fils), tuiles sur une grappe locale de 1 puis 2 processus. Pic mémoire : VmHWM
(``ru_maxrss``) du processus principal et, pour la grappe, le plus gros des processus de calcul. Même résultat
vérifié : tables par commune (1e-9 °C), T_air en tuiles (float32) contre le calcul d'un seul tenant (float64),
1 et 2 processus identiques. Chiffres dans tests/sorties/bench_tuiles.json et docs/echelle.md.

    DESIMPER_DEMO_COMPLETE=/work/demo_complete42 pytest -q -p no:cacheprovider tests/bench/test_bench_tuiles.py -s
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

MODES = ("complet", "tuiles_fils", "tuiles_1_processus", "tuiles_2_processus")


def _pic_mo() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pic_processus_mo() -> float:
    """Pic mémoire (Mo) du processus de calcul où la fonction s'exécute (envoyée par ``client.run``)."""
    import resource as r

    return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1024


def mesurer(mode: str, dossier: Path, sortie: Path) -> dict:
    """Un passage de ``mode`` (processus neuf) : temps du modèle de chaleur (grille déjà rastérisée), pics."""
    from indicateurs import chaleur as ch
    from indicateurs.parametres import lire_parametres
    from donnees.referentiel import lire_territoire
    from services.modeles import _lire_zones_modeles, preparer_grille_territoire
    from services.reparti import ouvrir_client
    from services.tuiles import calculer_chaleur_tuiles

    parametres = lire_parametres(lire_territoire(dossier).get("parametres"))
    occupation = preparer_grille_territoire(dossier, parametres)  # relue du cache disque (mode « grille »)
    if mode == "grille":
        return {"mode": mode, "pic_rasterisation_mo": round(_pic_mo())}
    zones = _lire_zones_modeles(dossier)
    p = ch.ParametresChaleur.depuis_parametres(parametres)
    taille = int(parametres["taille_tuile_cellules"])
    pic_avant = _pic_mo()
    mesure = {"mode": mode, "cellules": occupation.grille.hauteur * occupation.grille.largeur,
              "pic_avant_modele_mo": round(pic_avant)}
    debut = time.perf_counter()
    if mode == "complet":
        resultat = ch.calculer_chaleur_territoire(occupation, zones, p, "banc", utiliser_cache=False)
        mesure["duree_s"] = time.perf_counter() - debut
        np.save(sortie / "t_air_complet.npy", resultat.t_air["realisees"])
    elif mode == "tuiles_fils":
        resultat = calculer_chaleur_tuiles(occupation, zones, p, taille, mode, sortie / "cache")
        mesure["duree_s"] = time.perf_counter() - debut
    else:
        processus = 1 if mode == "tuiles_1_processus" else 2
        with ouvrir_client(processus=processus) as client:
            mesure["ouverture_grappe_s"] = time.perf_counter() - debut
            debut = time.perf_counter()
            resultat = calculer_chaleur_tuiles(occupation, zones, p, taille, mode, sortie / "cache", client)
            mesure["duree_s"] = time.perf_counter() - debut
            mesure["pic_processus_calcul_mo"] = round(max(client.run(_pic_processus_mo).values()))
    mesure["pic_principal_mo"] = round(_pic_mo())
    mesure["tuiles"] = resultat.meta.get("tuiles", {}).get("tuiles")
    resultat.communes.to_csv(sortie / f"communes_{mode}.csv", index=False)
    return mesure


def test_bench_tuiles(demo_complete, tmp_path):
    from outils import RACINE, enregistrer_mesure

    dossier = tmp_path / "demo"
    shutil.copytree(demo_complete, dossier, ignore=shutil.ignore_patterns("cache", "photos"))
    mesures = {}
    # un processus neuf par mode, l'un après l'autre (jamais deux gros calculs à la fois)
    for mode in ("grille", *MODES):
        sortie = subprocess.run([sys.executable, __file__, mode, str(dossier), str(tmp_path)], cwd=RACINE,
                                capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(RACINE)},
                                timeout=3600, check=False)
        assert sortie.returncode == 0, sortie.stderr[-3000:]
        mesures[mode] = json.loads(sortie.stdout.strip().splitlines()[-1])
        print(mode, mesures[mode])
    complet = pd.read_csv(tmp_path / "communes_complet.csv", dtype={"code_insee": str})
    for mode in MODES[1:]:
        tuiles = pd.read_csv(tmp_path / f"communes_{mode}.csv", dtype={"code_insee": str})
        pd.testing.assert_frame_equal(tuiles, complet, check_exact=False, rtol=1e-12, atol=1e-9)
    reference = np.load(tmp_path / "t_air_complet.npy")
    grilles = {mode: np.load(tmp_path / "cache" / f"chaleur_{mode}_realisees.npy") for mode in MODES[1:]}
    ecart = float(np.nanmax(np.abs(grilles["tuiles_2_processus"] - reference)))
    assert ecart <= 2e-6  # arrondi en float32 (pas de 1,9e-6 à 30 °C)
    np.testing.assert_array_equal(grilles["tuiles_1_processus"], grilles["tuiles_2_processus"])
    np.testing.assert_array_equal(grilles["tuiles_fils"], grilles["tuiles_2_processus"])
    mesures["ecart_max_t_air_float32_c"] = ecart
    mesures["acceleration_2_sur_1_processus"] = (mesures["tuiles_1_processus"]["duree_s"]
                                                 / mesures["tuiles_2_processus"]["duree_s"])
    mesures["charge_machine"] = os.getloadavg()
    for cle, valeur in mesures.items():
        enregistrer_mesure("bench_tuiles.json", cle, valeur)


if __name__ == "__main__":
    print(json.dumps(mesurer(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))))
