"""Banc (pas dans make test) : grille et modèle de chaleur sur la démonstration départementale, grappe locale
de 1 puis 2 processus Dask.

Démonstration de ``$DESIMPER_DEMO_DEPARTEMENT`` (défaut ``/work/demo_departement``, voir
test_bench_departement.py). Chaque étape dans un sous-processus mesuré par ``/usr/bin/time -v`` (durée, pic de
mémoire : le plus gros des processus attendus, processus de calcul compris ; budget de l'issue 14 : 8 Go) :

1. grille d'occupation rastérisée commune par commune (``preparer_grille_territoire``, mise en cache) ;
2. ``desimper chaleur --processus 1`` puis ``--processus 2`` (chaleur en tuiles, caches de chaleur effacés
   avant chaque passage) ; mêmes tables par commune exigées. Mesures dans tests/sorties/bench_departement.json.

    DESIMPER_DEMO_DEPARTEMENT=/work/demo_departement pytest -q -p no:cacheprovider -o addopts="" \\
        tests/bench/test_bench_departement_chaleur.py -s
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from outils import RACINE, enregistrer_mesure

BUDGET_MEMOIRE_KO = 8 * 1024 * 1024  # 8 Go (issue 14)
GRILLE = ("from pathlib import Path; import sys; from services.modeles import preparer_grille_territoire; "
          "o = preparer_grille_territoire(Path(sys.argv[1])); print(o.grille.hauteur, o.grille.largeur)")


def _mesurer(commande: list[str], env: dict) -> tuple[float, int, str]:
    debut = time.perf_counter()
    sortie = subprocess.run(["/usr/bin/time", "-v", *commande], capture_output=True, text=True, env=env,
                            timeout=3 * 3600)
    duree = time.perf_counter() - debut
    assert sortie.returncode == 0, sortie.stderr[-3000:]
    pic_ko = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", sortie.stderr).group(1))
    return duree, pic_ko, sortie.stdout


def _vider_caches_chaleur(dossier: Path) -> None:
    for fichier in (dossier / "cache").glob("*"):
        if fichier.is_file() and not fichier.name.startswith("grille"):
            fichier.unlink()
        elif fichier.is_dir() and fichier.name != "priorites":
            import shutil

            shutil.rmtree(fichier)


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="/usr/bin/time absent (paquet time)")
def test_chaleur_departement_1_puis_2_processus(tmp_path):
    dossier = Path(os.environ.get("DESIMPER_DEMO_DEPARTEMENT", "/work/demo_departement"))
    if not (dossier / "territoire.json").exists():
        pytest.skip(f"démonstration départementale absente ({dossier}) : lancez test_bench_departement.py")
    env = {**os.environ, "PYTHONPATH": str(RACINE)}
    for variable in ("DESIMPER_BASE_URL", "DESIMPER_DASK_SCHEDULER", "DESIMPER_DASK_PROCESSUS"):
        env.pop(variable, None)
    for fichier in (dossier / "cache").glob("grille*"):
        fichier.unlink()
    duree, pic, sortie = _mesurer([sys.executable, "-c", GRILLE, str(dossier)], env)
    hauteur, largeur = map(int, sortie.split())
    mesures = {"grille_duree_s": round(duree, 1), "grille_pic_mo": round(pic / 1024),
               "grille_cellules": hauteur * largeur}
    tables = {}
    for processus in (1, 2):
        _vider_caches_chaleur(dossier)
        resultats = tmp_path / f"chaleur_{processus}"
        duree, pic, _ = _mesurer([sys.executable, str(RACINE / "cli.py"), "chaleur", "--dossier", str(dossier),
                                  "--processus", str(processus), "--sortie", str(resultats)], env)
        mesures[f"chaleur_{processus}_processus_duree_s"] = round(duree, 1)
        mesures[f"chaleur_{processus}_processus_pic_mo"] = round(pic / 1024)
        fichiers = sorted(resultats.glob("*.csv"))
        assert fichiers, f"aucune table écrite dans {resultats}"
        tables[processus] = {f.name: pd.read_csv(f) for f in fichiers}
        assert pic < BUDGET_MEMOIRE_KO, f"{processus} processus : pic {pic / 1024:.0f} Mo > 8 Go"
    assert tables[1].keys() == tables[2].keys()
    for nom, table in tables[1].items():
        pd.testing.assert_frame_equal(table, tables[2][nom], check_exact=False, rtol=1e-9, atol=1e-9)
    mesures["acceleration_2_sur_1"] = round(mesures["chaleur_1_processus_duree_s"]
                                            / mesures["chaleur_2_processus_duree_s"], 2)
    enregistrer_mesure("bench_departement.json", "chaleur", mesures)
    print(mesures)
    assert mesures["grille_pic_mo"] * 1024 < BUDGET_MEMOIRE_KO
