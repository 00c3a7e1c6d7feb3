"""Cartes bornées (issue 14) : ce que la carte du bassin envoie ne grossit pas avec le registre.

Cercles par commune à faible zoom, opérations de l'emprise (plafonnées) au zoom, pas de fenêtre embarquée : le
clic renvoie l'identifiant et la page affiche la fiche ; une opération non visible ne part jamais dans la carte.
"""

import json
import re
from pathlib import Path

import pytest
from cartes_synthetiques import choisir_quartier, multiplier_operations
from outils import connecter_appli, lancer_appli

from donnees.config import url_base
from donnees.magasin import Magasin
from donnees.referentiel import lire_couche
from vues.cartes import (
    VueCarte,
    arrondir_vue,
    construire_carte_bassin,
    lire_reglages_cartes,
    lire_vue,
    preparer_points_operations,
    selectionner_operations,
)

BUDGET_OCTETS = 2_000_000
NOMBRE = 50_000


@pytest.fixture(scope="module")
def registre(dossier_demo):
    magasin = Magasin(url_base(dossier_demo))
    try:
        operations = magasin.lire_operations()
    finally:
        magasin.fermer()
    return lire_couche("communes_affichage", dossier_demo), operations


@pytest.fixture(scope="module")
def grand_registre(registre):
    communes, operations = registre
    return communes, multiplier_operations(operations, NOMBRE)


def _identifiants(html: str) -> list[int]:
    """Identifiants des opérations envoyées une à une (troisième valeur de chaque opération de la couche)."""
    listes = re.findall(r"alias = \[[^\]]*\];\s*(\[\[.*?\]\])\.forEach", html, flags=re.S)
    return [int(d[2]) for liste in listes for d in json.loads(liste)]


def test_carte_de_50_000_operations_sous_2_mo_a_faible_et_fort_zoom(grand_registre):
    communes, operations = grand_registre
    reglages = lire_reglages_cartes()
    # Faible zoom (vue de départ) : un cercle par commune, aucune opération une à une, aucune fiche.
    faible = construire_carte_bassin(communes, operations).get_root().render()
    assert len(faible.encode()) <= BUDGET_OCTETS, len(faible.encode())
    assert "desimper-agregat" in faible and _identifiants(faible) == []
    assert "desimper-fiche" not in faible and "GeoJsonPopup" not in faible
    nombres = [int(n.replace("\\u202f", "")) for n in re.findall(r'"(\d[\d\\u202f]*)", "\\u003cb\\u003e', faible)]
    assert sum(nombres) == NOMBRE  # les cercles comptent toutes les opérations
    assert "Surface d\\u00e9simperm\\u00e9abilis\\u00e9e" in faible  # libellé du catalogue
    # Quartier (zoom 15) : les opérations de l'emprise seulement, sous le budget.
    quartier = VueCarte(15, choisir_quartier(operations))
    html = construire_carte_bassin(communes, operations, vue=quartier).get_root().render()
    envoyees = _identifiants(html)
    points = preparer_points_operations(operations)
    attendues = selectionner_operations(points, quartier)
    assert len(html.encode()) <= BUDGET_OCTETS, len(html.encode())
    assert 0 < len(envoyees) == len(attendues.points) <= reglages["plafond_operations"]
    xmin, ymin, xmax, ymax = quartier.emprise
    dedans = points.set_index("id").loc[envoyees]
    assert dedans["lon"].between(xmin, xmax).all() and dedans["lat"].between(ymin, ymax).all()
    # Vue plus large au seuil de zoom : plafond atteint, les plus grandes d'abord, message français.
    large = VueCarte(reglages["zoom_operations"], (3.55, 43.35, 3.75, 43.45))
    html = construire_carte_bassin(communes, operations, vue=large).get_root().render()
    assert len(html.encode()) <= BUDGET_OCTETS
    assert len(_identifiants(html)) == reglages["plafond_operations"]
    assert "plus grandes (surface d\\u00e9simperm\\u00e9abilis\\u00e9e) sont affich\\u00e9es" in html


def test_vue_lue_et_arrondie_a_la_grille(registre):
    assert lire_vue(None) is None and lire_vue({"bounds": {"_southWest": {"lat": None}}, "zoom": 12}) is None
    assert lire_vue({"bounds": {"_southWest": {"lat": 1, "lng": "x"}, "_northEast": {}}, "zoom": 3}) is None
    vue = lire_vue({"bounds": {"_southWest": {"lat": 43.40, "lng": 3.60}, "_northEast": {"lat": 43.42, "lng": 3.64}},
                    "zoom": 14.5})
    assert vue == VueCarte(14.5, (3.60, 43.40, 3.64, 43.42))
    seuil = lire_reglages_cartes()["zoom_operations"]
    assert arrondir_vue(VueCarte(seuil - 0.25, vue.emprise)) is None  # sous le seuil : la vue ne compte pas
    deplacee = VueCarte(14.75, (3.6005, 43.4004, 3.6405, 43.4204))  # petit déplacement : même case
    assert arrondir_vue(vue) == arrondir_vue(deplacee)
    arrondie = arrondir_vue(vue)
    assert arrondie.zoom == 14 and arrondie.emprise[0] <= 3.60 and arrondie.emprise[2] >= 3.64


def _valeur_composant(appli) -> tuple[str, dict]:
    """Clé du composant st_folium de la page et ses arguments (script, couche des opérations…)."""
    composants = appli.get("component_instance")
    assert len(composants) == 1
    arguments = json.loads(composants[0].proto.json_args)
    return arguments["key"], arguments


def _vue_bassin(zoom: float, cliquee=None) -> dict:
    valeur = {"bounds": {"_southWest": {"lat": 43.25, "lng": 3.40}, "_northEast": {"lat": 43.62, "lng": 3.87}},
              "zoom": zoom}
    if cliquee is not None:
        valeur["last_active_drawing"] = {"type": "Feature", "properties": {"id": cliquee},
                                         "geometry": {"type": "Point", "coordinates": [3.6, 43.4]}}
    return valeur


def _operations(dossier: Path):
    magasin = Magasin(url_base(dossier))
    try:
        return magasin.lire_operations()
    finally:
        magasin.fermer()


def test_page_carte_zoom_clic_fiche_et_droits(monkeypatch, dossier_demo_copie):
    from donnees.comptes import creer_compte

    operations = _operations(dossier_demo_copie)
    realisees = operations[operations["statut"].eq("realisee")]
    validee = realisees[realisees["validation"].eq("validee")].iloc[0]
    non_validees = set(realisees.loc[realisees["validation"].ne("validee"), "id"].astype(int))
    assert non_validees
    appli = lancer_appli(monkeypatch, dossier_demo_copie)
    appli.switch_page("pages/carte.py").run()
    assert not appli.exception, appli.exception
    cle, arguments = _valeur_composant(appli)
    assert "desimper-agregat" in arguments["feature_group"] and "desimper-fiche" not in arguments["script"]
    assert {"bounds", "zoom", "last_active_drawing"} <= set(arguments["returned_objects"])
    # Public : zoom sur tout le bassin, clic sur une opération validée puis une non validée (identifiant forgé).
    appli.session_state[cle] = _vue_bassin(16, int(validee["id"]))
    appli.run()
    assert not appli.exception, appli.exception
    _, arguments = _valeur_composant(appli)
    envoyees = set(_identifiants(arguments["feature_group"]))
    assert int(validee["id"]) in envoyees and not envoyees & non_validees
    assert "cout" not in arguments["feature_group"] and "montant" not in arguments["feature_group"]
    fiches = [h.proto.body for h in appli.get("html") if "desimper-fiche" in h.proto.body]
    assert len(fiches) == 1 and validee["nom"].replace("'", "&#39;") in fiches[0]
    assert "Coût" not in fiches[0]  # coûts masqués au public
    assert any("opération(s) dans cette partie de la carte" in c.value for c in appli.caption)
    for forge in (min(non_validees), "x", [1]):  # non visible, identifiants non entiers : aucune fiche
        appli.session_state[cle] = _vue_bassin(16, forge)
        appli.run()
        assert not appli.exception, appli.exception
        assert not [h for h in appli.get("html") if "desimper-fiche" in h.proto.body]
        assert any("Cliquez sur une opération" in i.value for i in appli.info)
    appli.session_state[cle] = {"bounds": {"_southWest": {"lat": None}}, "zoom": "x"}  # vue forgée : cercles
    appli.run()
    assert not appli.exception, appli.exception
    assert "desimper-agregat" in _valeur_composant(appli)[1]["feature_group"]
    # Administrateur (toutes validations) : l'opération non validée part dans la carte et sa fiche s'affiche.
    magasin = Magasin(url_base(dossier_demo_copie))
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice", "administrateur", [], "une phrase de passe solide",
                         auteur="test")
    magasin.fermer()
    connecter_appli(appli, admin, dossier_demo_copie)
    appli.run()
    cle, _ = _valeur_composant(appli)
    appli.session_state[cle] = _vue_bassin(16, min(non_validees))
    appli.run()
    assert not appli.exception, appli.exception
    _, arguments = _valeur_composant(appli)
    assert min(non_validees) in set(_identifiants(arguments["feature_group"]))
    fiches = [h.proto.body for h in appli.get("html") if "desimper-fiche" in h.proto.body]
    assert len(fiches) == 1 and "Coût HT" in fiches[0]


def test_carte_commune_plafonne_les_zones(dossier_demo):
    import numpy as np
    import shapely

    from vues.cartes import construire_carte_commune, limiter_zones

    magasin = Magasin(url_base(dossier_demo))
    try:
        zones = magasin.lire_zones()
    finally:
        magasin.fermer()
    communes = lire_couche("communes", dossier_demo)
    code = zones["code_insee"].value_counts().index[0]
    # ≈ 2 000 opérations dans une commune (comme à 50 000 opérations sur 25 communes), ≈ 3 zones chacune.
    copies = 2_000 // zones["operation_id"].nunique() + 1
    grandes = zones.loc[np.tile(np.arange(len(zones)), copies)].reset_index(drop=True)
    grandes["operation_id"] = grandes["operation_id"] + np.repeat(np.arange(copies), len(zones)) * 10_000
    decalages = np.random.default_rng(7).normal(0, 0.002, size=(len(grandes), 2))
    coordonnees, rangs = shapely.get_coordinates(grandes.geometry.to_numpy(), return_index=True)
    grandes["geometry"] = shapely.set_coordinates(np.array(grandes.geometry.to_numpy(), dtype=object),
                                                  coordonnees + decalages[rangs])
    plafond = lire_reglages_cartes()["plafond_zones_commune"]
    gardees, nombre, dessinees = limiter_zones(grandes)
    assert nombre == grandes["operation_id"].nunique() and 0 < dessinees < nombre
    assert len(gardees) <= plafond < len(grandes)
    surfaces = grandes.groupby("operation_id")["surface_m2"].sum()
    assert surfaces[gardees["operation_id"].unique()].min() >= surfaces.drop(gardees["operation_id"].unique()).max()
    completes = grandes[grandes["operation_id"].isin(gardees["operation_id"])]
    assert len(completes) == len(gardees)  # toutes les zones d'une opération gardée
    html = construire_carte_commune(communes[communes["code_insee"] == code], gardees).get_root().render()
    assert len(html.encode()) <= BUDGET_OCTETS, len(html.encode())
