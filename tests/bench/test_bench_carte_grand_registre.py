"""Banc (make bench) des cartes bornées à 50 000 opérations (issue 14, point 4).

- Poids : carte du bassin (fond + couche des opérations) à faible zoom, sur un quartier (zoom 15) et au seuil
  de zoom sur une vue large (plafond atteint) ≤ 2 Mo, registre synthétique en mémoire (opérations de la
  démonstration « petite » recopiées à des positions décalées, tests/cartes_synthetiques.py) ;
- Relance : page Carte (AppTest) sur un magasin de 50 000 opérations (même recopie, zones comprises, écrite
  par :func:`ecrire_grand_registre`, locale à ce banc en attendant tests/bench/grand_registre.py) ; on déplace
  et zoome la carte (valeur renvoyée par st_folium) : médiane de la relance complète de la page et du cœur
  du fragment de la carte (ce que le navigateur relance vraiment quand on déplace ou zoome) ;
  budget ≤ 0,5 s sur le cœur du fragment (afficher_carte_bornee, chronométrée dans le fil du script).

Mesures dans tests/sorties/bench_carte_grand_registre.json.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from cartes_synthetiques import ECART_DEGRES, choisir_quartier, multiplier_operations
from outils import enregistrer_mesure
from streamlit.testing.v1 import AppTest

from donnees.config import url_base
from donnees.magasin import Magasin
from donnees.referentiel import lire_couche
from vues.cartes import (
    VueCarte,
    agreger_operations,
    construire_couche_operations,
    ResumeOperations,
    construire_fond_bassin,
    lire_reglages_cartes,
    preparer_points_operations,
    selectionner_operations,
)

RACINE = Path(__file__).resolve().parents[2]
APP = str(RACINE / "app.py")
NOMBRE = 50_000
BUDGET_MO = 2.0
BUDGET_RELANCE_S = 0.5
FICHIER = "bench_carte_grand_registre.json"


def _mo(texte: str) -> float:
    return len(texte.encode()) / 1e6


def _lire(dossier: Path):
    magasin = Magasin(url_base(dossier))
    try:
        return magasin.lire_operations()
    finally:
        magasin.fermer()


@pytest.fixture(scope="module")
def demo_petite(tmp_path_factory) -> Path:
    from donnees.demo import generer_demo

    dossier = tmp_path_factory.mktemp("carte_grand_registre") / "demo"
    generer_demo(dossier, taille="petite", graine=7)
    return dossier


def test_poids_carte_bassin_50_000_operations(demo_petite):
    from pages.vues_en_cache import preparer_carte, preparer_couche

    communes = lire_couche("communes_affichage", demo_petite)
    operations = multiplier_operations(_lire(demo_petite), NOMBRE)
    debut = time.perf_counter()
    points = preparer_points_operations(operations)
    duree_points = time.perf_counter() - debut
    fond = preparer_carte(construire_fond_bassin(communes, ResumeOperations.depuis_points(points)))
    poids_fond = _mo(fond["script"] + fond["html"] + fond["header"])
    agregats = agreger_operations(points, communes)
    reglages = lire_reglages_cartes()
    vues = {"faible_zoom": None, "quartier_zoom_15": VueCarte(15, choisir_quartier(operations)),
            "vue_large_au_seuil": VueCarte(reglages["zoom_operations"], (3.55, 43.35, 3.75, 43.45))}
    mesures = {"operations": NOMBRE, "fond_mo": round(poids_fond, 3), "points_s": round(duree_points, 2)}
    for nom, vue in vues.items():
        debut = time.perf_counter()
        selection = selectionner_operations(points, vue)
        couche = preparer_couche(construire_couche_operations(selection, agregats, "type_site"))
        duree = time.perf_counter() - debut
        mesures[nom] = {"mo": round(poids_fond + _mo(couche), 3), "couche_mo": round(_mo(couche), 3),
                        "envoyees": len(selection.points), "dans_emprise": selection.total,
                        "construction_couche_s": round(duree, 3)}
        assert poids_fond + _mo(couche) <= BUDGET_MO, (nom, mesures[nom])
    enregistrer_mesure(FICHIER, "poids", mesures)


def ecrire_grand_registre(dossier: Path, nombre: int, graine: int = 7) -> None:
    """Magasin SQLite de ``dossier`` porté à ``nombre`` opérations : celles qui y sont recopiées en boucle avec
    leurs zones, chaque copie déplacée d'un même décalage aléatoire (``ECART_DEGRES``) ; financements, photos et
    journal non recopiés. Locale à ce banc (à unifier avec tests/bench/grand_registre.py)."""
    generateur = np.random.default_rng(graine)
    with sqlite3.connect(dossier / "desimper.sqlite") as base:
        colonnes = [ligne[1] for ligne in base.execute("PRAGMA table_info(operation)")]
        operations = base.execute("SELECT * FROM operation WHERE supprimee = 0 ORDER BY id").fetchall()
        zones = base.execute("SELECT operation_id, geometrie, revetement_avant, revetement_apres, surface_m2 "
                             "FROM zone").fetchall()
        par_operation: dict[int, list] = {}
        for zone in zones:
            par_operation.setdefault(zone[0], []).append(zone)
        rang_id, rang_jeton = colonnes.index("id"), colonnes.index("jeton_soumission")
        suivant = 1 + max(ligne[rang_id] for ligne in operations)
        nouvelles, nouvelles_zones = [], []
        for copie in range(nombre - len(operations)):
            modele = list(operations[copie % len(operations)])
            ident, modele[rang_id], modele[rang_jeton] = modele[rang_id], suivant, None
            dx, dy = generateur.normal(0.0, ECART_DEGRES, 2)
            for _, geometrie, avant, apres, surface in par_operation.get(ident, []):
                deplacee = shapely.transform(shapely.from_wkb(geometrie), lambda xy, d=(dx, dy): xy + d)
                nouvelles_zones.append((suivant, shapely.to_wkb(deplacee), avant, apres, surface))
            nouvelles.append(modele)
            suivant += 1
        base.executemany(f"INSERT INTO operation ({', '.join(colonnes)}) VALUES ({', '.join('?' * len(colonnes))})",
                         nouvelles)
        base.executemany("INSERT INTO zone (operation_id, geometrie, revetement_avant, revetement_apres, surface_m2) "
                         "VALUES (?, ?, ?, ?, ?)", nouvelles_zones)


def _cle_composant(appli) -> str:
    return json.loads(appli.get("component_instance")[0].proto.json_args)["key"]


def _vues_successives(quartier: tuple[float, float, float, float]) -> list[dict]:
    """Déplacements et zooms autour d'un quartier chargé : vue de départ, zooms 13 → 16, petits déplacements."""
    xmin, ymin, xmax, ymax = quartier
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    vues = []
    for zoom, pas in ((11, 0.0), (13, 0.0), (14, 0.0), (14, 0.01), (15, 0.0), (15, 0.004), (15, 0.008), (16, 0.0),
                      (16, 0.002), (14, -0.01), (12, 0.0), (15, -0.004)):
        demi_x, demi_y = 0.35 * 2 ** (11 - zoom), 0.2 * 2 ** (11 - zoom)
        vues.append({"bounds": {"_southWest": {"lat": cy - demi_y, "lng": cx + pas - demi_x},
                                "_northEast": {"lat": cy + demi_y, "lng": cx + pas + demi_x}}, "zoom": zoom})
    return vues


def _chronometrer_carte(monkeypatch) -> list[float]:
    """Durées de ``afficher_carte_bornee`` (cœur du fragment de la carte : vue, sélection, couche, composant),
    mesurées dans le fil du script (un profil cProfile du fil de test ne les voit pas)."""
    import pages.vues_en_cache as vues_en_cache

    durees: list[float] = []
    origine = vues_en_cache.afficher_carte_bornee

    def chronometree(*arguments, **options):
        debut = time.perf_counter()
        try:
            return origine(*arguments, **options)
        finally:
            durees.append(time.perf_counter() - debut)

    monkeypatch.setattr(vues_en_cache, "afficher_carte_bornee", chronometree)
    return durees


def test_relance_page_carte_50_000_operations(demo_petite, tmp_path, monkeypatch):
    dossier = tmp_path / "grand"
    shutil.copytree(demo_petite, dossier)
    debut = time.perf_counter()
    ecrire_grand_registre(dossier, NOMBRE)
    duree_ecriture = time.perf_counter() - debut
    operations = _lire(dossier)
    assert len(operations) == NOMBRE
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    appli = AppTest.from_file(APP, default_timeout=1800)
    appli.switch_page("pages/carte.py")
    debut = time.perf_counter()
    appli.run()
    premiere = time.perf_counter() - debut
    assert not appli.exception, appli.exception
    cle = _cle_composant(appli)
    fragments = _chronometrer_carte(monkeypatch)
    pages = []
    for valeur in _vues_successives(choisir_quartier(operations)) * 2:  # second tour : couches en cache
        appli.session_state[cle] = valeur
        debut = time.perf_counter()
        appli.run()
        pages.append(time.perf_counter() - debut)
        assert not appli.exception, appli.exception
    arguments = json.loads(appli.get("component_instance")[0].proto.json_args)
    envoi = _mo(arguments["script"] + arguments["html"] + arguments["header"] + (arguments["feature_group"] or ""))
    mesures = {"operations": NOMBRE, "ecriture_magasin_s": round(duree_ecriture, 1),
               "premiere_vue_carte_s": round(premiere, 1), "relances": len(pages),
               "relance_page_mediane_s": round(statistics.median(pages), 3),
               "relance_page_max_s": round(max(pages), 3),
               "relance_fragment_mediane_s": round(statistics.median(fragments), 3),
               "relance_fragment_max_s": round(max(fragments), 3),
               "relance_fragment_premier_tour_mediane_s": round(statistics.median(fragments[:len(fragments) // 2]), 3),
               "envoi_derniere_vue_mo": round(envoi, 3)}
    enregistrer_mesure(FICHIER, "relance", mesures)
    assert envoi <= BUDGET_MO
    assert statistics.median(fragments) <= BUDGET_RELANCE_S, mesures
