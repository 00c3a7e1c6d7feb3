"""Règles communes : motifs du cadastre et de l'INSEE, projections et polygones, exception et messages."""

import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, Point, Polygon, box

from donnees import cadastre, erreurs, geometrie, schemas, territoire
from donnees.format import formater_montant

# ------------------------------------------------------------------------------------------ cadastre


@pytest.mark.parametrize("code", ["34301", "2A004", "2B033", "97411", "01001"])
def test_codes_insee_valides(code):
    assert cadastre.est_code_insee(code)
    assert cadastre.est_code_insee_commune(code)


@pytest.mark.parametrize("code", ["3430", "343011", "2C004", "34 301", "A4301", "", None, 34301, "2a004"])
def test_codes_insee_invalides(code):
    assert not cadastre.est_code_insee(code)
    assert not cadastre.est_code_insee_commune(code)


@pytest.mark.parametrize("code", ["00123", "96123", "98123", "99123", "97712", "97011"])
def test_code_insee_au_format_mais_sans_departement(code):
    assert cadastre.est_code_insee(code)
    assert not cadastre.est_code_insee_commune(code)


def test_identifiant_de_parcelle():
    assert cadastre.est_id_parcelle("34301000AB0123")
    assert cadastre.est_id_parcelle("2A004000AB0001")
    assert cadastre.est_id_parcelle("343010000A0123")  # section « 0A » (Etalab complète sur 2 caractères)
    for fautif in ("34301000AB123", "34301000AB01234", "34301000ab0123", "34301-00AB0123", None, 3430100):
        assert not cadastre.est_id_parcelle(fautif)
    assert cadastre.decomposer_id_parcelle("34301000AB0123") == ("34301", "000", "AB", "0123")
    assert cadastre.decomposer_id_parcelle("34301000AB0123").section == "AB"
    assert cadastre.decomposer_id_parcelle("34301000AB012") is None
    assert len("34301000AB0123") == cadastre.LONGUEUR_ID_PARCELLE


def test_composer_identifiant_texte_et_series():
    assert cadastre.composer_id_parcelle("34301", "000", "AB", "123") == "34301000AB0123"
    ids = cadastre.composer_id_parcelle(pd.Series(["34301", "2A004"]), "000", pd.Series(["AB", "ZC"]),
                                        pd.Series(["1", "9999"]))
    assert ids.tolist() == ["34301000AB0001", "2A004000ZC9999"]
    assert all(cadastre.est_id_parcelle(i) for i in ids)


def test_departement():
    assert cadastre.departement_de("34301") == "34"
    assert cadastre.departement_de("2A004") == "2A"
    assert cadastre.departement_de("97411") == "974"
    assert territoire.departement_de is cadastre.departement_de  # ancien chemin d'import


def test_schemas_utilisent_les_motifs_du_cadastre():
    motifs = {c: schemas.SCHEMAS["parcelles"].colonnes.columns[c].checks[0].statistics["pattern"]
              for c in ("id", "commune")}
    assert motifs == {"id": cadastre.MOTIF_TEXTE_ID_PARCELLE, "commune": cadastre.MOTIF_TEXTE_CODE_INSEE}


def test_territoire_refuse_un_code_postal_avec_le_message_du_catalogue():
    with pytest.raises(erreurs.ErreurDonnees) as exc:
        territoire.lire_codes_insee("34301,96000")
    assert "96000" in str(exc.value) and erreurs.message("format_code_insee") in str(exc.value)
    assert territoire.lire_codes_insee("2a004 34301") == ["2A004", "34301"]


# ---------------------------------------------------------------------------------------- géométrie


def test_constantes_reexportees():
    assert schemas.CRS_CALCUL == geometrie.CRS_CALCUL == "EPSG:2154"
    assert schemas.CRS_STOCKAGE == geometrie.CRS_STOCKAGE == "EPSG:4326"
    assert schemas.ErreurDonnees is erreurs.ErreurDonnees
    assert schemas.decrire_invalidite is erreurs.decrire_invalidite


def test_projection_aller_retour_et_surface():
    carre = box(3.60, 43.40, 3.61, 43.41)
    l93 = geometrie.vers_lambert93(carre)
    assert 700_000 < l93.centroid.x < 800_000 and 6_200_000 < l93.centroid.y < 6_300_000
    assert l93.area == pytest.approx(810 * 1112, rel=0.01)
    retour = geometrie.vers_wgs84(l93)
    assert np.allclose(np.asarray(retour.exterior.coords), np.asarray(carre.exterior.coords), atol=1e-9)
    lot = geometrie.vers_lambert93(np.array([carre, carre.buffer(0.001)], dtype=object))
    assert lot.shape == (2,) and lot[0].equals_exact(l93, 1e-6)
    table = gpd.GeoDataFrame({"a": [1]}, geometry=[carre], crs=geometrie.CRS_STOCKAGE)
    assert geometrie.surfaces_m2(table)[0] == pytest.approx(l93.area, rel=1e-9)


def test_memes_coordonnees_que_geopandas():
    carre = box(3.60, 43.40, 3.61, 43.41)
    attendu = gpd.GeoSeries([carre], crs=4326).to_crs(2154).iloc[0]
    assert geometrie.vers_lambert93(carre).equals_exact(attendu, 1e-6)


def test_reprojeter_sans_copie_inutile():
    table = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(3.6, 43.4)], crs=geometrie.CRS_STOCKAGE)
    assert geometrie.en_wgs84(table) is table
    assert geometrie.en_wgs84(table, copier=True) is not table
    assert geometrie.en_lambert93(table).crs.equals(geometrie.CRS_CALCUL)
    sans_crs = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(3.6, 43.4)])
    assert geometrie.en_wgs84(sans_crs) is sans_crs  # affichage : supposée en WGS84
    with pytest.raises(erreurs.ErreurDonnees, match="sans système de coordonnées"):
        geometrie.en_lambert93(sans_crs)  # calcul en mètres : refusé
    assert geometrie.en_lambert93(sans_crs, crs_defaut=geometrie.CRS_STOCKAGE).crs.equals(geometrie.CRS_CALCUL)


def test_transformateur_par_fil():
    principal = geometrie.transformateur()
    assert geometrie.transformateur() is principal
    autres = []
    fil = threading.Thread(target=lambda: autres.append(geometrie.transformateur()))
    fil.start()
    fil.join()
    assert autres[0] is not principal


def test_geometrie_l93_depuis_geojson_wkt_ou_illisible():
    carre = box(3.60, 43.40, 3.61, 43.41)
    attendu = geometrie.vers_lambert93(carre)
    assert geometrie.geometrie_l93(carre.wkt).equals_exact(attendu, 1e-6)
    assert geometrie.geometrie_l93(shapely.geometry.mapping(carre)).equals_exact(attendu, 1e-6)
    assert geometrie.geometrie_l93("POLYGON((pas du wkt") is None
    assert geometrie.geometrie_l93({"type": "Inconnu"}) is None
    assert geometrie.geometrie_l93(None) is None
    assert geometrie.geometrie_l93(Polygon()) is None


def test_extraire_polygones():
    carre = box(0, 0, 1, 1)
    collection = GeometryCollection([carre, LineString([(0, 0), (2, 2)]), box(2, 2, 3, 3)])
    resultat = geometrie.extraire_polygones(np.array(
        [carre, LineString([(0, 0), (1, 1)]), collection, Point(0, 0).buffer(1).difference(box(-2, -2, 2, 2)),
         None], dtype=object))
    assert resultat[0] is carre
    assert resultat[1] is None
    assert resultat[2].geom_type == "MultiPolygon" and resultat[2].area == pytest.approx(2)
    assert resultat[3] is None and resultat[4] is None


def test_repartir_par_commune():
    communes = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)], dtype=object)
    geoms = np.array([box(1, 1, 2, 2), box(9, 1, 11, 2), box(9.99, 5, 10.5, 6)], dtype=object)
    morceaux, source, rang, entiere = geometrie.repartir_par_commune(geoms, communes, surface_min=0.1)
    assert source.tolist() == [0, 1, 1, 2]
    assert rang.tolist() == [0, 0, 1, 1]
    assert entiere.tolist() == [True, False, False, False]
    assert [round(g.area, 6) for g in morceaux] == [1, 1, 1, 0.5]


def test_la_demo_et_l_import_partagent_les_aides():
    from donnees import demo

    assert demo.extraire_polygones is geometrie.extraire_polygones
    assert demo.repartir_par_commune is geometrie.repartir_par_commune


# ------------------------------------------------------------------------------------------ erreurs


def test_erreur_donnees_et_catalogue():
    exc = erreurs.ErreurDonnees("message", "communes", "code_insee", [1, 2])
    assert (str(exc), exc.couche, exc.colonne, exc.lignes) == ("message", "communes", "code_insee", [1, 2])
    assert erreurs.ErreurDonnees("m").lignes == []
    assert "34301000AB0123" in erreurs.message("format_id_parcelle")
    assert all(isinstance(v, str) and v for v in erreurs.MESSAGES.values())


def test_decrire_invalidite():
    noeud_papillon = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert erreurs.decrire_invalidite(noeud_papillon).startswith("le contour se recoupe (auto-intersection) vers 0.5")


def test_formater_montant():
    assert formater_montant(60_000.0) == "60\u202f000\u202f€"
    assert formater_montant(1200.5) == "1\u202f200,50\u202f€"
    assert formater_montant(None) == formater_montant(float("nan")) == "—"


@pytest.mark.parametrize("reference, attendu", [
    ("AB 123", "34301000AB0123"), ("ab123", "34301000AB0123"), ("0AB0123", "34301000AB0123"),
    ("000AB0123", "34301000AB0123"), ("001 A 5", "343010010A0005"), ("34150000CD0042", "34150000CD0042"),
    ("34150 000 CD 42", "34150000CD0042"), ("1 23", None), ("XYZ 12345", None), ("", None),
])
def test_lire_reference_parcelle(reference, attendu):
    assert cadastre.lire_reference_parcelle(reference, "34301") == attendu


def test_motifs_reexportes_depuis_le_cadastre():
    import donnees.import_operations as imp
    import donnees.magasin as mag

    assert imp.MOTIF_INSEE is mag.MOTIF_INSEE is cadastre.MOTIF_CODE_INSEE
    assert imp.MOTIF_ID_PARCELLE is mag.MOTIF_PARCELLE is cadastre.MOTIF_ID_PARCELLE
    assert imp.MOTIF_REF_PARCELLE is cadastre.MOTIF_REF_PARCELLE and imp.CRS_L93 == geometrie.CRS_CALCUL


def test_aires_lambert93_et_hors_projection():
    carre = shapely.transform(box(0, 0, 100, 100), lambda c: c + [700_000, 6_600_000])
    wgs = geometrie.vers_wgs84(carre)
    aires = geometrie.aires_lambert93(np.array([wgs, wgs], dtype=object))
    assert aires == pytest.approx([10_000, 10_000], rel=1e-6)
    assert len(geometrie.aires_lambert93(np.empty(0, dtype=object))) == 0
    with pytest.raises(erreurs.ErreurDonnees, match="hors du domaine de la projection"):
        geometrie.aires_lambert93(np.array([box(0, 0, 1e9, 1e9)], dtype=object))


def test_listes_d_indicateurs_tirees_du_catalogue():
    from indicateurs import calcul, catalogue

    assert set(calcul.COLONNES_GEOMETRIQUES) == set(catalogue.codes_geometriques())
    assert calcul.COLONNES_FINANCIERES == ["cout_total_ht", "montant_aides", "nombre_operations_cout_connu",
                                           "reste_a_charge", "taux_aide", "cout_par_m2", "cout_par_m3_infiltre"]
    assert set(catalogue.codes_reserves()).isdisjoint(catalogue.codes_publics())
    assert set(catalogue.codes_reserves()) | set(catalogue.codes_publics()) == set(catalogue.lire_catalogue()["code"])
