"""Banc (make bench) des priorités par commune sur le bassin complet (démonstration graine 42, issue 14).

- ``desimper priorites calculer --forcer`` sur une grappe locale de 1 puis 2 processus Dask : durée et temps
  CPU (processus Dask compris ; médianes de ``PASSAGES`` passages ; la charge de la machine est notée) et pic
  de mémoire (somme des RSS du processus et de ses enfants, relevée toutes
  les 0,1 s ; et pic du plus gros processus) ;
- première vue de la page Carte, couche « Parcelles d'une commune » (Sète), l'application déjà chauffée :
  priorités stockées (lues) contre non stockées (calculées pour la seule commune à la première vue).

La démonstration (``$DESIMPER_DEMO_COMPLETE`` ou générée) est copiée : rien n'est écrit dans l'original.
Mesures écrites dans tests/sorties/bench_priorites.json.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from outils import enregistrer_mesure
from streamlit.testing.v1 import AppTest

from services.modeles import calculer_modeles_territoire
from services.priorites import chemin_priorites

RACINE = Path(__file__).resolve().parents[2]
APP = str(RACINE / "app.py")
CODE_SETE = "34301"
PASSAGES = int(os.environ.get("DESIMPER_BANC_PASSAGES", "3"))


@pytest.fixture(scope="module")
def copie(demo_complete, tmp_path_factory) -> Path:
    """Copie de la démonstration complète, modèles chaleur et eau en cache disque (comme `desimper demo`)."""
    dossier = tmp_path_factory.mktemp("bench_priorites") / "demo"
    shutil.copytree(demo_complete, dossier, ignore=shutil.ignore_patterns("priorites"))
    calculer_modeles_territoire(dossier)
    return dossier


def _mesurer_commande(arguments: list[str]) -> dict:
    """Durée et pics de mémoire (Mo) d'une commande, processus enfants (processus Dask) compris."""
    environnement = {k: v for k, v in os.environ.items() if k not in ("DESIMPER_BASE_URL", "DESIMPER_DASK_SCHEDULER")}
    avant = resource.getrusage(resource.RUSAGE_CHILDREN)
    debut = time.perf_counter()
    processus = subprocess.Popen([sys.executable, "cli.py", *arguments], cwd=RACINE, env=environnement,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    pics = {"somme": 0.0, "plus_gros": 0.0}
    arret = threading.Event()

    def relever() -> None:
        racine = psutil.Process(processus.pid)
        while not arret.is_set():
            try:
                tailles = [p.memory_info().rss for p in [racine, *racine.children(recursive=True)]]
            except psutil.Error:
                tailles = []
            if tailles:
                pics["somme"] = max(pics["somme"], sum(tailles) / 2**20)
                pics["plus_gros"] = max(pics["plus_gros"], max(tailles) / 2**20)
            arret.wait(0.1)

    fil = threading.Thread(target=relever, daemon=True)
    fil.start()
    sortie, _ = processus.communicate(timeout=1800)
    arret.set()
    fil.join()
    assert processus.returncode == 0, sortie
    apres = resource.getrusage(resource.RUSAGE_CHILDREN)  # processus Dask compris (attendus par leur parent)
    cpu = apres.ru_utime + apres.ru_stime - avant.ru_utime - avant.ru_stime
    return {"duree_s": time.perf_counter() - debut, "cpu_s": cpu, "pic_somme_mo": pics["somme"],
            "pic_plus_gros_mo": pics["plus_gros"], "sortie": sortie.strip().splitlines()}


@pytest.mark.parametrize("processus", [1, 2])
def test_priorites_du_bassin(copie, processus):
    passages = [_mesurer_commande(["priorites", "calculer", "--forcer", "--processus", str(processus),
                                   "--dossier", str(copie)]) for _ in range(PASSAGES)]
    mesures = {
        "processus": processus, "passages": PASSAGES,
        "duree_mediane_s": round(statistics.median(p["duree_s"] for p in passages), 1),
        "durees_s": [round(p["duree_s"], 1) for p in passages],
        "cpu_median_s": round(statistics.median(p["cpu_s"] for p in passages), 1),
        "charge_machine": round(os.getloadavg()[0], 1),
        "pic_somme_rss_mo": round(max(p["pic_somme_mo"] for p in passages)),
        "pic_plus_gros_processus_mo": round(max(p["pic_plus_gros_mo"] for p in passages)),
        "bilan": passages[-1]["sortie"][-2],
    }
    enregistrer_mesure("bench_priorites.json", f"calcul_{processus}_processus", mesures)
    assert "25 communes (25 calculées)" in mesures["bilan"]


def _premiere_vue_carte(dossier: Path, monkeypatch) -> dict:
    """Application chauffée (vue d'ensemble), puis première vue de la carte des parcelles de Sète."""
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    appli = AppTest.from_file(APP, default_timeout=600)
    debut = time.perf_counter()
    appli.run()
    chauffe = time.perf_counter() - debut
    assert not appli.exception, appli.exception
    appli.session_state["carte_couche"] = "Parcelles d'une commune"
    appli.session_state["commune_choisie"] = CODE_SETE
    appli.query_params["code"] = CODE_SETE
    appli.switch_page("pages/carte.py")
    debut = time.perf_counter()
    appli.run()
    vue = time.perf_counter() - debut
    assert not appli.exception, appli.exception
    assert [t.value for t in appli.title] == ["Carte"]
    return {"chauffe_s": round(chauffe, 2), "premiere_vue_carte_s": round(vue, 2)}


def test_premiere_vue_de_la_carte_apres_calcul_stocke(copie, tmp_path, monkeypatch):
    stockees = copie
    if not chemin_priorites(stockees, CODE_SETE).exists():
        _mesurer_commande(["priorites", "calculer", "--dossier", str(stockees)])
    sans_stockage = tmp_path / "demo"
    shutil.copytree(copie, sans_stockage, ignore=shutil.ignore_patterns("priorites"))
    mesures = {"priorites_stockees": _premiere_vue_carte(stockees, monkeypatch),
               "priorites_calculees_a_la_vue": _premiere_vue_carte(sans_stockage, monkeypatch)}
    assert chemin_priorites(sans_stockage, CODE_SETE).exists()  # stockées par la page
    enregistrer_mesure("bench_priorites.json", "premiere_vue_carte_sete", mesures)
