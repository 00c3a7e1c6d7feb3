"""Banc (pas dans make test) : génération de la démonstration départementale (343 communes de l'Hérault).

`desimper demo --taille departement --sans-modeles` dans un sous-processus mesuré par ``/usr/bin/time -v`` :
durée, pic de mémoire (budget de l'issue 14 : 8 Go), nombres de parcelles, de polygones d'occupation et
d'opérations, taille sur disque. La démonstration est gardée dans ``$DESIMPER_DEMO_DEPARTEMENT`` (défaut
``/work/demo_departement``) pour les autres bancs ; mesures dans tests/sorties/bench_departement.json.
Une seule grosse génération à la fois sur la machine.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from donnees.magasin import Magasin
from donnees.partitions import lire_manifeste
from donnees.referentiel import lire_couche, lire_territoire
from outils import RACINE, enregistrer_mesure

BUDGET_MEMOIRE_KO = 8 * 1024 * 1024  # 8 Go (issue 14)


def _taille_disque(dossier: Path) -> int:
    return sum(f.stat().st_size for f in dossier.rglob("*") if f.is_file())


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="/usr/bin/time absent (paquet time)")
def test_generation_de_la_demo_departement():
    dossier = Path(os.environ.get("DESIMPER_DEMO_DEPARTEMENT", "/work/demo_departement"))
    env = {**os.environ, "PYTHONPATH": str(RACINE)}
    env.pop("DESIMPER_BASE_URL", None)
    debut = time.perf_counter()
    sortie = subprocess.run(["/usr/bin/time", "-v", sys.executable, str(RACINE / "cli.py"), "demo", "--taille",
                             "departement", "--graine", "42", "--sans-modeles", "--dossier", str(dossier)],
                            capture_output=True, text=True, env=env, timeout=3 * 3600)
    duree = time.perf_counter() - debut
    assert sortie.returncode == 0, sortie.stderr[-3000:]
    pic_ko = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", sortie.stderr).group(1))
    territoire = lire_territoire(dossier)
    assert territoire["taille"] == "departement" and len(territoire["codes_insee"]) == 343
    parcelles = sum(e["lignes"] for e in lire_manifeste("parcelles", dossier)["partitions"].values())
    polygones = sum(e["lignes"] for e in lire_manifeste("occupation", dossier)["partitions"].values())
    magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
    operations = magasin.compter()["operation"]
    magasin.fermer()
    debut_commune = time.perf_counter()
    montpellier = lire_couche("parcelles", dossier, communes=["34172"])
    lecture_commune = time.perf_counter() - debut_commune
    mesures = {
        "duree_s": round(duree, 1), "pic_memoire_mo": round(pic_ko / 1024), "parcelles": parcelles,
        "polygones_occupation": polygones, "operations": operations,
        "disque_mo": round(_taille_disque(dossier) / 2**20), "communes": len(territoire["codes_insee"]),
        "lecture_parcelles_montpellier_s": round(lecture_commune, 2), "parcelles_montpellier": len(montpellier),
    }
    enregistrer_mesure("bench_departement.json", "generation", mesures)
    print(mesures)
    assert pic_ko <= BUDGET_MEMOIRE_KO, mesures
    assert 1_000_000 <= parcelles <= 2_500_000 and polygones >= 2_500_000, mesures
    assert operations >= 45_000, mesures
