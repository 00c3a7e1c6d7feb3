"""Carte de saisie : parcelles et bâtiments d'une commune (service), budget de charge, parcelles données par
référence en évidence, fonds de carte lus dans ``vues/fonds_carte.json``."""

import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE
from services.referentiel import (
    caler_fenetre,
    choisir_envoi_contours,
    codes_bati_ocsge,
    lire_couche_territoire,
    preparer_contours_commune,
    selectionner_fenetre,
)
from vues import cartes
from vues.cartes import (
    construire_carte_commune,
    construire_carte_saisie,
    construire_surimpression,
    convertir_contours_geojson,
    lire_fonds_carte,
    lire_styles,
)

X0, Y0 = 745_000.0, 6_256_000.0  # Lambert-93, à Sète


def _en_wgs84(geometries, **colonnes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(colonnes, geometry=geometries, crs=CRS_CALCUL).to_crs(CRS_STOCKAGE)


def _parcelle_dentelee(x: float, y: float, cote: float = 20.0) -> Polygon:
    """Carré de ``cote`` mètres dont chaque bord porte 40 sommets presque alignés (bruit de 5 cm)."""
    t = np.linspace(0, 1, 40, endpoint=False)
    bruit = 0.05 * np.sin(np.arange(40))
    bords = [np.c_[x + cote * t, y + bruit], np.c_[x + cote + bruit, y + cote * t],
             np.c_[x + cote * (1 - t), y + cote + bruit], np.c_[x + bruit, y + cote * (1 - t)]]
    return Polygon(np.vstack(bords))


@pytest.fixture
def referentiel_test() -> dict:
    communes = _en_wgs84([box(X0 - 500, Y0 - 500, X0 + 500, Y0 + 500), box(X0 + 500, Y0 - 500, X0 + 1500, Y0 + 500)],
                         code_insee=["34301", "34157"], nom=["Sète", "Mèze"])
    parcelles = _en_wgs84(
        [_parcelle_dentelee(X0, Y0), _parcelle_dentelee(X0 + 30, Y0), _parcelle_dentelee(X0 + 600, Y0)],
        id=["34301000AB0123", "34301000AB0124", "34157000CD0007"], commune=["34301", "34301", "34157"],
        prefixe="000", section=["AB", "AB", "CD"], numero=["123", "124", "7"], contenance=[400, 400, 400])
    occupation = _en_wgs84(
        [box(X0 + 2, Y0 + 2, X0 + 12, Y0 + 12), box(X0 + 32, Y0 + 2, X0 + 40, Y0 + 9),
         box(X0 + 14, Y0 + 14, X0 + 19, Y0 + 19), box(X0 + 602, Y0 + 2, X0 + 610, Y0 + 10)],
        id=["o1", "o2", "o3", "o4"], code_insee=["34301", "34301", "34301", "34157"],
        code_cs=["CS1.1.1.1", "CS1.1.1.1", "CS1.1.1.2", "CS1.1.1.1"], code_us=None)
    batiments = gpd.GeoDataFrame({"id": [], "commune": [], "type": [], "nom": []},
                                 geometry=gpd.GeoSeries([], crs=CRS_STOCKAGE), crs=CRS_STOCKAGE)
    return {"communes": communes, "parcelles": parcelles, "occupation": occupation, "batiments": batiments}


def _preparer(referentiel: dict, code: str = "34301", tolerance_m: float = 0.3, precision: float = 1e-6):
    return preparer_contours_commune(code, referentiel["communes"], referentiel["parcelles"],
                                     referentiel["batiments"], referentiel["occupation"], tolerance_m, precision)


def test_parcelles_et_batiments_d_une_commune_legers_en_wgs84(referentiel_test):
    contours = _preparer(referentiel_test)
    # Une commune à la fois, seules les propriétés utiles, en WGS84.
    assert list(contours.parcelles.columns) == ["reference", "geometry"]
    assert sorted(contours.parcelles["reference"]) == ["AB 123", "AB 124"]
    assert list(contours.batiments.columns) == ["geometry"]
    assert contours.parcelles.crs.equals(CRS_STOCKAGE) and contours.batiments.crs.equals(CRS_STOCKAGE)
    # Faute de couche des bâtiments : les polygones bâtis (CS1.1.1.1) de l'OCS GE de la commune, pas la voirie.
    assert contours.source_batiments == "occupation du sol" and len(contours.batiments) == 2
    assert codes_bati_ocsge() == ["CS1.1.1.1"]
    # Simplifiées : 160 sommets presque alignés → le carré (5 sommets), surface gardée à 1 % près.
    avant = shapely.get_num_coordinates(referentiel_test["parcelles"].geometry.values[:2]).sum()
    apres = shapely.get_num_coordinates(contours.parcelles.geometry.values).sum()
    assert avant == 2 * 161 and apres == 2 * 5
    surfaces = contours.parcelles.to_crs(CRS_CALCUL).area
    assert np.allclose(surfaces, 400, rtol=0.01)
    # Coordonnées arrondies à la précision demandée (1e-6°).
    coordonnees = shapely.get_coordinates(contours.parcelles.geometry.values)
    assert np.allclose(coordonnees, np.round(coordonnees, 6), atol=1e-9)


def test_batiments_du_cadastre_preferes_a_l_occupation_du_sol(referentiel_test):
    referentiel_test["batiments"] = _en_wgs84([box(X0 + 3, Y0 + 3, X0 + 9, Y0 + 9)], id=["b1"], commune=["34301"],
                                              type=["01"], nom=[None])
    contours = _preparer(referentiel_test)
    assert contours.source_batiments == "cadastre" and len(contours.batiments) == 1
    assert _preparer(referentiel_test, "34157").source_batiments == "occupation du sol"


def test_commune_inconnue_message_francais(referentiel_test):
    with pytest.raises(ErreurDonnees, match="Commune « 99999 » inconnue du territoire : choisissez l'une de ses 2"):
        _preparer(referentiel_test, "99999")


def test_commune_sans_parcelle_ni_bati(referentiel_test):
    referentiel_test["parcelles"] = referentiel_test["parcelles"].iloc[0:0]
    referentiel_test["occupation"] = referentiel_test["occupation"].iloc[0:0]
    contours = _preparer(referentiel_test)
    assert contours.parcelles.empty and contours.batiments.empty and contours.source_batiments == "aucune"
    geojson = convertir_contours_geojson(contours.parcelles, contours.batiments)
    assert json.loads(geojson["parcelles"])["features"] == [] and json.loads(geojson["batiments"])["features"] == []


def test_geojson_envoye_reference_echappee_batiments_reunis(referentiel_test):
    contours = _preparer(referentiel_test)
    parcelles = contours.parcelles.assign(reference=["AB 123", "<b>AB</b> 124"])
    geojson = convertir_contours_geojson(parcelles, contours.batiments)
    entites = json.loads(geojson["parcelles"])["features"]
    assert [e["properties"] for e in entites] == [{"reference": "AB 123"}, {"reference": "&lt;b&gt;AB&lt;/b&gt; 124"}]
    bati = json.loads(geojson["batiments"])["features"]
    assert len(bati) == 1 and bati[0]["geometry"]["type"] == "MultiPolygon" and bati[0]["properties"] == {}
    assert len(bati[0]["geometry"]["coordinates"]) == 2


def _vue(ouest: float, sud: float, est: float, nord: float, zoom: float) -> dict:
    return {"zoom": zoom, "bounds": {"_southWest": {"lat": sud, "lng": ouest}, "_northEast": {"lat": nord, "lng": est}}}


def test_budget_de_charge_commune_entiere_ou_emprise_visible(referentiel_test):
    contours = _preparer(referentiel_test)  # 2 parcelles + 2 bâtiments
    reglages = dict(lire_fonds_carte()["surimpression"])
    assert choisir_envoi_contours(contours, None, reglages) == ("commune", None)
    reglages["budget_octets"] = 3 * reglages["octets_par_contour"]  # 4 contours : trop lourd
    assert choisir_envoi_contours(contours, None, reglages) == ("rien", None)
    ouest, sud, est, nord = contours.parcelles.total_bounds
    assert choisir_envoi_contours(contours, _vue(ouest, sud, est, nord, reglages["zoom_min"] - 1), reglages) == (
        "rien", None)
    mode, fenetre = choisir_envoi_contours(contours, _vue(ouest, sud, ouest + 1e-4, sud + 1e-4,
                                                          reglages["zoom_min"]), reglages)
    assert mode == "emprise"
    assert fenetre[0] <= ouest and fenetre[1] <= sud and fenetre[2] >= ouest + 1e-4 and fenetre[3] >= sud + 1e-4
    # Calée sur la maille : un petit déplacement de la vue donne la même emprise (même clé de cache).
    assert choisir_envoi_contours(contours, _vue(ouest + 1e-5, sud, ouest + 1.1e-4, sud + 1e-4,
                                                 reglages["zoom_min"]), reglages)[1] == fenetre
    # Une vue immense (grand écran) est bornée à cote_max_fenetre_m autour de son centre.
    _, large = choisir_envoi_contours(contours, _vue(ouest - 0.2, sud - 0.2, ouest + 0.2, sud + 0.2, 18), reglages)
    cote = gpd.GeoSeries([box(*large)], crs=CRS_STOCKAGE).to_crs(CRS_CALCUL).total_bounds
    limite = reglages["cote_max_fenetre_m"] + 2 * (reglages["marge_fenetre_m"] + reglages["maille_fenetre_m"])
    assert cote[2] - cote[0] <= 1.05 * limite and cote[3] - cote[1] <= 1.05 * limite  # boîte WGS84 ↔ Lambert-93


def test_selection_d_une_emprise(referentiel_test):
    contours = _preparer(referentiel_test)
    premiere = contours.parcelles.geometry.iloc[0].bounds
    fenetre = caler_fenetre(premiere, maille_m=1.0, marge_m=0.0)
    choisis = selectionner_fenetre(contours, fenetre)
    assert list(choisis.parcelles["reference"]) == ["AB 123"] and len(choisis.batiments) == 1


def test_parcelles_de_reference_en_evidence_et_carte_cadree_dessus(referentiel_test):
    contours = _preparer(referentiel_test)
    references = referentiel_test["parcelles"].iloc[[1]].assign(section="<i>AB</i>")
    carte = construire_carte_saisie(referentiel_test["communes"].iloc[[0]])
    construire_surimpression(convertir_contours_geojson(contours.parcelles, contours.batiments),
                             references).add_to(carte)
    html = carte.get_root().render()
    style = lire_styles()["parcelle_reference"]
    assert "desimper-parcelle-reference" in html and style["contour"] in html
    assert f'"weight": {style["epaisseur"]}' in html
    assert style["epaisseur"] > 2 * lire_styles()["parcelle_fond"]["epaisseur"]  # contour épais
    assert "<i>AB" not in html and "&lt;i&gt;AB&lt;/i&gt; 124" in html.replace("\\u0026", "&")  # échappée
    assert "fitBounds" in html and "desimperCadrage" in html  # carte cadrée sur les parcelles données
    # Parcelles et bâtiments de fond dans leur volet, affiché à partir du zoom de saisie.
    assert "desimper-parcelle-fond" in html and "desimper-batiment-fond" in html
    assert '"pane": "desimperParcellaire"' in html
    assert f'>= {lire_fonds_carte()["surimpression"]["zoom_min"]}' in html
    assert "leaflet-draw" in html or "L.Control.Draw" in html


def test_surimpression_sans_reference_ni_contour():
    carte = folium.Map()
    construire_surimpression(None, None).add_to(carte)
    html = carte.get_root().render()
    assert "desimper-parcelle-reference" not in html and "desimper-parcelle-fond" not in html


def test_fonds_de_carte_lus_du_fichier_de_donnees(monkeypatch):
    fonds = lire_fonds_carte()
    noms = [fond["nom"] for fond in fonds["fonds"]]
    assert noms == ["Plan IGN", "Photographies aériennes IGN", "Plan OpenStreetMap"]
    assert "LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in fonds["fonds"][0]["url"]
    assert "LAYER=ORTHOIMAGERY.ORTHOPHOTOS" in fonds["fonds"][1]["url"] and "image/jpeg" in fonds["fonds"][1]["url"]
    assert all(fond["url"].startswith("https://data.geopf.fr/wmts?") for fond in fonds["fonds"][:2])
    assert all("IGN" in fond["attribution"] for fond in fonds["fonds"][:2])
    assert "contributeurs OpenStreetMap" in fonds["fonds"][2]["attribution"]
    communes = gpd.GeoDataFrame({"code_insee": ["34301"], "nom": ["Sète"]}, geometry=[box(3.6, 43.3, 3.7, 43.4)],
                                crs=4326)
    html = construire_carte_commune(communes, None).get_root().render()
    for fond in fonds["fonds"]:
        assert fond["url"].split("?")[0] in html and json.dumps(fond["nom"]) in html
    assert "tileerror" in html and "Fond de carte indisponible" in html
    assert "L.control.layers" in html
    # Le fichier fait foi : un autre fond déclaré est celui de la carte, rien n'est écrit en dur.
    autre = {**fonds, "fonds": [{"nom": "Fond d'essai", "url": "https://tuiles.example/{z}/{x}/{y}.png",
                                 "attribution": "© Essai", "zoom_max": 18, "source": "test"}],
             "message_hors_ligne": "Pas de fond d'essai"}
    monkeypatch.setattr(cartes, "lire_fonds_carte", lambda: autre)
    html = construire_carte_commune(communes, None).get_root().render()
    assert "tuiles.example" in html and "data.geopf.fr" not in html and "tile.openstreetmap.org" not in html
    assert "Pas de fond d" in html


def test_premier_fond_de_la_carte_de_saisie():
    communes = gpd.GeoDataFrame({"code_insee": ["34301"], "nom": ["Sète"]}, geometry=[box(3.6, 43.3, 3.7, 43.4)],
                                crs=4326)
    html = construire_carte_saisie(communes).get_root().render()
    premier = html.index("ORTHOIMAGERY.ORTHOPHOTOS")
    assert premier < html.index("PLANIGNV2") and premier < html.index("tile.openstreetmap.org")


def test_demonstration_sete_parcelles_et_bati(dossier_demo):
    couches = {nom: lire_couche_territoire(nom, dossier_demo)
               for nom in ("communes", "parcelles", "batiments", "occupation")}
    reglages = lire_fonds_carte()["surimpression"]
    contours = preparer_contours_commune("34301", couches["communes"], couches["parcelles"], couches["batiments"],
                                         couches["occupation"], reglages["tolerance_m"], reglages["precision_degres"])
    attendues = couches["parcelles"]["commune"].eq("34301").sum()
    assert len(contours.parcelles) == attendues > 0
    assert contours.source_batiments == "occupation du sol" and len(contours.batiments) > 0
    poids = sum(len(texte) for texte in convertir_contours_geojson(contours.parcelles, contours.batiments).values())
    assert poids <= reglages["budget_octets"]
    assert choisir_envoi_contours(contours, None, reglages)[0] == "commune"
    assert pd.Series(contours.parcelles["reference"]).str.match(r"^[0-9A-Z]{1,2} \d{1,4}$").all()
