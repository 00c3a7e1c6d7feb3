"""Contrôles des zones saisies au formulaire (mêmes seuils que l'import)."""

import re

import geopandas as gpd
from shapely.geometry import LineString, box

from donnees.controles_zones import controler_zones


def _wgs84(*geometries):
    return gpd.GeoDataFrame(geometry=list(geometries), crs=2154).to_crs(4326)


COMMUNE = gpd.GeoSeries([box(700000, 6250000, 701000, 6251000)], crs=2154).to_crs(4326).iloc[0]


def test_zone_correcte_sans_message():
    zones = _wgs84(box(700100, 6250100, 700150, 6250140))
    assert controler_zones(zones, ["Dessin 1"], COMMUNE, "Essai") == []


def test_debord_leger_ligne_et_tres_grande_zone():
    zones = _wgs84(box(700950, 6250100, 701010, 6250140), LineString([(700100, 6250100), (700200, 6250200)]),
                   box(700000, 6250000, 701000, 6250999).buffer(200))
    messages = controler_zones(zones, ["A", "B", "C"], COMMUNE, "Essai")
    niveaux = {(m.zone, m.niveau) for m in messages}
    assert ("A", "avertissement") in niveaux and "hors de la commune Essai" in str(messages[0])
    assert ("B", "erreur") in niveaux
    assert any(m.zone == "C" and "plus de 10 ha" in m.texte for m in messages)


def test_chevauchement_entre_zones_et_avec_une_operation_existante_sauf_elle_meme():
    zones = _wgs84(box(700100, 6250100, 700200, 6250200), box(700150, 6250150, 700250, 6250250))
    existantes = _wgs84(box(700180, 6250180, 700300, 6250300)).assign(operation_id=7, nom="Parking")
    messages = controler_zones(zones, ["A", "B"], COMMUNE, "Essai", existantes)
    textes = [str(m) for m in messages]
    assert any(t.startswith("B : chevauche A sur 2") for t in textes)
    assert any("n° 7 « Parking »" in t for t in textes)
    # L'opération qu'on modifie ne se chevauche pas elle-même.
    messages = controler_zones(zones, ["A", "B"], COMMUNE, "Essai", existantes, operation_exclue=7)
    assert not any("n° 7" in str(m) for m in messages)


def test_nombres_au_format_francais_et_raison_en_francais():
    from shapely.geometry import Polygon

    papillon = Polygon([(700100, 6250100), (700120, 6250120), (700120, 6250100), (700100, 6250120)])
    zones = _wgs84(box(700100, 6250100, 700100.5, 6250100.5), box(700000, 6250000, 701000, 6250999).buffer(200),
                   papillon)
    textes = [str(m) for m in controler_zones(zones, ["A", "B", "C"], COMMUNE, "Essai")]
    assert any("zone minuscule (0,25\u202fm²" in t for t in textes), textes
    assert any(re.search(r"zone très grande \(\d+,\d\u202fha", t) for t in textes), textes
    assert any(t.startswith("C : contour invalide : le contour se recoupe") and "Self" not in t for t in textes)


def test_chaque_constat_porte_son_code_son_rang_et_ses_valeurs():
    from donnees.zones import CODES_REGLES, decider

    zones = _wgs84(box(699930, 6250100, 700030, 6250200), box(700100, 6250100, 700100.5, 6250100.5))
    messages = controler_zones(zones, ["A", "B"], COMMUNE, "Essai")
    assert [(m.zone, m.rang, m.code, m.niveau) for m in messages] == [
        ("A", 1, "hors_commune", "erreur"), ("B", 2, "surface_minuscule", "avertissement")]
    assert abs(messages[0].valeurs["part_hors"] - 0.7) < 1e-6 and messages[1].valeurs["surface_m2"] < 1
    assert str(messages[0]) == ("A : zone à 70\u202f% hors de la commune Essai. Dessinez-la dans la commune, "
                                "ou choisissez la bonne commune.")
    assert {m.code for m in messages} <= set(CODES_REGLES)
    assert decider(messages) == "refusé" and decider(messages[1:]) == "averti" and decider([]) == "accepté"


def test_lambert93_donne_pour_des_degres_est_une_erreur():
    zones = gpd.GeoDataFrame(geometry=[box(700100, 6250100, 700150, 6250140)], crs=4326)
    messages = controler_zones(zones, ["Dessin 1"], COMMUNE, "Essai")
    assert [(m.code, m.niveau) for m in messages] == [("hors_degres", "erreur")]
    assert "sans doute en mètres (Lambert-93 ?)" in str(messages[0])
