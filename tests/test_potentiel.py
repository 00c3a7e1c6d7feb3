"""Potentiel de désimperméabilisation (issue 15, partie 1) : scores de quelques parcelles calculés à la main
(critères, exclusions, poids), classes, confiance quand des couches manquent, règles mal déclarées refusées."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from donnees.erreurs import ErreurDonnees
from indicateurs.potentiel import (
    COUCHES_CRITERES,
    agreger_potentiel_ilots,
    calculer_potentiel,
    grouper_ilots,
    lire_regles_potentiel,
    relever_classe,
    relever_contacts,
)

UHI_MAX = 3.0
ESPACE = "\u202f"  # espace fine insécable des nombres formatés à la française
TOUTES = set(COUCHES_CRITERES)


@pytest.fixture(scope="module")
def regles():
    return lire_regles_potentiel()


def _parcelle(ident, gisement, surface=1000.0, **criteres) -> dict:
    return {"id": ident, "code_insee": "34301", "surface_parcelle": surface,
            "surface_impermeable_non_batie_parcelle": gisement, **criteres}


def test_scores_calcules_a_la_main(regles):
    """Poids 0,5 / 0,3 / 0,2 ; sol B = 0,67 ; uhi_max 3 °C ; facteurs du fichier de règles."""
    criteres = pd.DataFrame([
        # 80 % imperméable non bâti, sol A, anomalie 1,5 °C : 100 × (0,5·0,8 + 0,3·1 + 0,2·0,5) = 80 → fort
        _parcelle("P1", 800, groupe_sol="A", anomalie_chaleur_parcelle=1.5),
        # 40 %, sol B, 3 °C ; nappe « cave » × 0,7 : 100 × (0,2 + 0,201 + 0,2) × 0,7 = 42,07 → moyen
        _parcelle("P2", 400, groupe_sol="B", anomalie_chaleur_parcelle=3.0, nappe="cave"),
        # 100 %, sol D, 6 °C (plafonné à 1) ; captage rapproché × 0,5 et cavité × 0,5 :
        # 100 × (0,5 + 0 + 0,2) × 0,25 = 17,5 → faible
        _parcelle("P3", 1000, groupe_sol="D", anomalie_chaleur_parcelle=6.0, captage="rapproche", cavite=True),
        # site pollué (SIS) : exclue, score 0 quels que soient les critères favorables
        _parcelle("P4", 900, groupe_sol="A", anomalie_chaleur_parcelle=2.0, site_pollue=True),
        # périmètre immédiat d'un captage : exclue
        _parcelle("P5", 900, groupe_sol="A", anomalie_chaleur_parcelle=2.0, captage="immediat"),
        # anomalie négative (plus frais) : note 0 ; CASIAS × 0,7 ; débordement de nappe × 0,3 :
        # 100 × (0,5·0,5 + 0,3·0,33 + 0) × 0,21 = 7,329
        _parcelle("P6", 500, groupe_sol="C", anomalie_chaleur_parcelle=-1.0, ancien_site_industriel=np.True_,
                  nappe="debordement"),
        # petit gisement : 50 m² entièrement scellés, sol A, 1,5 °C : 100 × (0,5 + 0,3 + 0,1) × 50 / 100 = 45
        _parcelle("P7", 50, surface=50.0, groupe_sol="A", anomalie_chaleur_parcelle=1.5),
    ])
    resultat = calculer_potentiel(criteres, TOUTES, regles, UHI_MAX).set_index("id")
    attendus = {"P1": 80.0, "P2": 42.07, "P3": 17.5, "P4": 0.0, "P5": 0.0, "P6": 7.329, "P7": 45.0}
    for ident, score in attendus.items():
        assert resultat.at[ident, "score_potentiel"] == pytest.approx(score, abs=1e-9), ident
    assert resultat["classe_potentiel"].to_dict() == {"P1": "fort", "P2": "moyen", "P3": "faible", "P4": "exclu",
                                                      "P5": "exclu", "P6": "faible", "P7": "moyen"}
    assert (resultat["confiance_potentiel"] == 1.0).all() and (resultat["couches_manquantes"] == "").all()
    # Motifs en français : critères, contraintes et leur effet.
    assert f"imperméable non bâti : 80{ESPACE}% de la parcelle (800{ESPACE}m²)" in resultat.at["P1", "motifs"]
    assert "sol du groupe A" in resultat.at["P1", "motifs"] and f"1,5{ESPACE}°C" in resultat.at["P1", "motifs"]
    assert "inondations de cave (× 0,7)" in resultat.at["P2", "motifs"]
    assert "rapprochée" in resultat.at["P3", "motifs"] and "cavité" in resultat.at["P3", "motifs"]
    assert resultat.at["P4", "motifs"].count("exclue : touche un secteur d'information sur les sols") == 1
    assert "exclue : périmètre de protection immédiate" in resultat.at["P5", "motifs"]
    assert "CASIAS" in resultat.at["P6", "motifs"] and "débordements de nappe (× 0,3)" in resultat.at["P6", "motifs"]
    assert f"petit gisement : 50{ESPACE}m² sous le minimum de 100{ESPACE}m² (× 0,5)" in resultat.at["P7", "motifs"]


def test_couches_manquantes_baissent_la_confiance_sans_erreur(regles):
    """Sans sol ni chaleur : seuls les poids connus comptent (renormalisés), la confiance baisse et nomme ce qui
    manque ; sans occupation du sol, le gisement est inconnu (classe « inconnu »), jamais une erreur."""
    criteres = pd.DataFrame([_parcelle("P1", 800, groupe_sol="A", anomalie_chaleur_parcelle=1.5)])
    sans_sol_ni_chaleur = calculer_potentiel(criteres, TOUTES - {"sol", "chaleur"}, regles, UHI_MAX).iloc[0]
    assert sans_sol_ni_chaleur["score_potentiel"] == pytest.approx(80.0)  # 100 × 0,5·0,8 / 0,5
    assert sans_sol_ni_chaleur["confiance_potentiel"] == pytest.approx(5 / 7)
    assert "infiltrabilité des sols" in sans_sol_ni_chaleur["couches_manquantes"]
    assert "sol du groupe" not in sans_sol_ni_chaleur["motifs"]
    sans_occupation = calculer_potentiel(criteres, {"sol"}, regles, UHI_MAX).iloc[0]
    assert sans_occupation["classe_potentiel"] == "inconnu" and np.isnan(sans_occupation["score_potentiel"])
    assert sans_occupation["confiance_potentiel"] == pytest.approx(1 / 7)
    vide = calculer_potentiel(criteres.iloc[0:0], TOUTES, regles, UHI_MAX)
    assert vide.empty and "score_potentiel" in vide.columns


def test_regles_mal_declarees_refusees():
    with pytest.raises(ErreurDonnees, match="somme vaut 1,1 au lieu de 1 déclarée"):
        lire_regles_potentiel({"poids_chaleur": 0.3})
    assert lire_regles_potentiel({"poids_chaleur": 0.3, "somme_poids_declaree": 1.1})["poids_chaleur"] == 0.3
    with pytest.raises(ErreurDonnees, match="hors des bornes"):
        lire_regles_potentiel({"facteur_cavite": 1.5})
    with pytest.raises(ErreurDonnees, match="inconnue"):
        lire_regles_potentiel({"poids_bruit": 0.1})
    with pytest.raises(ErreurDonnees, match="n'est pas un nombre"):
        lire_regles_potentiel({"facteur_cavite": "beaucoup"})
    with pytest.raises(ErreurDonnees, match="« moyen » dépasse"):
        lire_regles_potentiel({"seuil_classe_moyenne": 70})
    with pytest.raises(ErreurDonnees, match="groupe de sol « E » inconnu"):
        calculer_potentiel(pd.DataFrame([_parcelle("P1", 800, groupe_sol="E")]), TOUTES, lire_regles_potentiel(),
                           UHI_MAX)


def test_croisement_des_couches_en_lambert93():
    """Contacts et classes relevés en Lambert-93 ; un simple contact de bord ne compte pas ; la classe la plus
    contraignante l'emporte ; une couche sans système de coordonnées ou une classe inconnue est refusée."""
    parcelles = gpd.GeoDataFrame({"id": ["a", "b", "c"]},
                                 geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(300, 0, 400, 100)],
                                 crs=2154)
    sis = gpd.GeoDataFrame(geometry=[box(50, 50, 60, 60)], crs=2154)
    assert relever_contacts(parcelles, sis, "sites_pollues").tolist() == [True, False, False]
    bord = gpd.GeoDataFrame(geometry=[box(200, 0, 250, 100)], crs=2154)  # touche « b » par son seul bord
    assert relever_contacts(parcelles, bord, "sites_pollues").tolist() == [False, False, False]
    cavites = gpd.GeoDataFrame(geometry=[Point(350, 50)], crs=2154).to_crs(4326)  # points en WGS84
    assert relever_contacts(parcelles, cavites, "cavites").tolist() == [False, False, True]
    nappe = gpd.GeoDataFrame({"classe": ["cave", "debordement", "aucun"]},
                             geometry=[box(0, 0, 150, 100), box(120, 0, 130, 10), box(290, 0, 500, 100)], crs=2154)
    classes = relever_classe(parcelles, nappe, "nappe", "classe", ["debordement", "cave", "aucun"])
    assert classes.tolist() == ["cave", "debordement", "aucun"]
    with pytest.raises(ErreurDonnees, match="sans système de coordonnées"):
        relever_contacts(parcelles, gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), "captages")
    with pytest.raises(ErreurDonnees, match="classe\\(s\\) forte inconnue"):
        relever_classe(parcelles, nappe.assign(classe="forte"), "nappe", "classe", ["debordement", "cave", "aucun"])


def test_potentiel_d_une_commune_de_la_demo(dossier_demo_copie, regles):
    """Service : gisement tiré des priorités stockées de la commune, anomalie de chaleur des parcelles lue dans une
    fenêtre de la grille du modèle (égale à la grille entière), scores recalculés à la main ; sans couches de
    critères, confiance 2/7 ; un secteur d'information sur les sols posé sur une parcelle l'exclut, une couche de
    sols en Lambert-93 change les scores comme la formule le dit, une couche sans système de coordonnées est
    refusée."""
    from donnees.partitions import lister_communes
    from indicateurs.priorites import calculer_anomalie_parcelles
    from services.modeles import calculer_modeles_territoire
    from services.potentiel import calculer_potentiel_commune
    from services.priorites import lire_couche_communes, lire_priorites_commune

    code = lister_communes("parcelles", dossier_demo_copie)[0]
    modeles = calculer_modeles_territoire(dossier_demo_copie)
    priorites = lire_priorites_commune(code, dossier_demo_copie).set_index("id")
    parcelles = lire_couche_communes("parcelles", dossier_demo_copie, [code]).set_index("id").loc[priorites.index]
    anomalie = pd.Series(calculer_anomalie_parcelles(parcelles.reset_index(), modeles.chaleur.anomalie("realisees"),
                                                     modeles.chaleur.grille.transform), index=priorites.index)
    assert anomalie.notna().sum() > 10
    # couches={} : aucune couche de critère (sinon celles que la démonstration a stockées sont lues)
    potentiel = calculer_potentiel_commune(code, dossier_demo_copie, couches={}, modeles=modeles).set_index("id")
    assert len(potentiel) == len(priorites) > 10
    assert np.allclose(potentiel["confiance_potentiel"], 2 / 7)
    assert "infiltrabilité des sols" in potentiel["couches_manquantes"].iloc[0]
    part = (priorites["surface_impermeable_non_batie_parcelle"] / priorites["surface_parcelle"]).clip(0, 1)
    chaleur = (anomalie / UHI_MAX).clip(0, 1)  # uhi_max_c du modèle : 3 °C
    petit = (priorites["surface_impermeable_non_batie_parcelle"] / 100).clip(0, 1)  # gisement_minimum_m2 : 100 m²
    attendu = pd.Series(np.where(chaleur.notna(), 100 * (0.5 * part + 0.2 * chaleur.fillna(0)) / 0.7, 100 * part),
                        index=priorites.index) * petit
    pd.testing.assert_series_equal(potentiel["score_potentiel"], attendu, check_names=False, rtol=1e-9)
    assert set(potentiel["classe_potentiel"]) <= {"fort", "moyen", "faible"}
    assert potentiel["motifs"].str.contains("anomalie de chaleur").any()

    lambert = parcelles.reset_index().to_crs(2154)
    cible = lambert.iloc[0]
    sis = gpd.GeoDataFrame({"type": ["SIS"]}, geometry=[cible.geometry.representative_point().buffer(1)], crs=2154)
    sols = gpd.GeoDataFrame({"groupe": ["D"]}, geometry=[box(*lambert.total_bounds).buffer(10)], crs=2154)
    avec = calculer_potentiel_commune(code, dossier_demo_copie, couches={"sites_pollues": sis, "sol": sols},
                                      modeles=modeles).set_index("id")
    assert avec.at[cible["id"], "classe_potentiel"] == "exclu" and avec.at[cible["id"], "score_potentiel"] == 0
    assert np.allclose(avec["confiance_potentiel"], 4 / 7)
    # Sol D (note 0, poids 0,3) ajouté au dénominateur : score = 100 × (0,5·part + 0,2·chaleur) / 1.
    attendu_sol = (pd.Series(np.where(chaleur.notna(), 100 * (0.5 * part + 0.2 * chaleur.fillna(0)),
                                      100 * 0.5 * part / 0.8), index=priorites.index) * petit).drop(index=cible["id"])
    pd.testing.assert_series_equal(avec["score_potentiel"].drop(index=cible["id"]), attendu_sol, check_names=False,
                                   rtol=1e-9)
    with pytest.raises(ErreurDonnees, match="sans système de coordonnées"):
        calculer_potentiel_commune(code, dossier_demo_copie, couches={"sol": sols.set_crs(None, allow_override=True)},
                                   modeles=modeles)


def test_ilots_et_leur_score_calcules_a_la_main(regles):
    """Îlots : parcelles à moins de distance_ilot_m (0,5 m) reliées de proche en proche ; score de l'îlot = moyenne
    des scores connus pondérée par la surface, une parcelle exclue comptant 0."""
    parcelles = gpd.GeoDataFrame({"id": ["A", "B", "C", "D"]}, geometry=[
        box(0, 0, 10, 10), box(10, 0, 20, 10),  # A et B se touchent
        box(20.3, 0, 40, 10),                   # C à 0,3 m de B : même îlot
        box(100, 0, 110, 10)], crs=2154)         # D isolée (une voie de 60 m)
    numeros = grouper_ilots(parcelles, regles["distance_ilot_m"])
    assert numeros.tolist() == [0, 0, 0, 1]
    assert grouper_ilots(parcelles, 0.1).tolist() == [0, 0, 1, 2]
    potentiel = pd.DataFrame({"id": ["A", "B", "C", "D"], "code_insee": "34301",
                              "score_potentiel": [80.0, 0.0, 40.0, np.nan],
                              "classe_potentiel": ["fort", "exclu", "moyen", "inconnu"]})
    criteres = pd.DataFrame({"surface_parcelle": [100.0, 100.0, 197.0, 100.0],
                             "surface_impermeable_non_batie_parcelle": [90.0, 50.0, 20.0, np.nan]})
    ilots = agreger_potentiel_ilots(potentiel, criteres, numeros, regles).set_index("ilot")
    assert ilots.at[0, "score_potentiel"] == pytest.approx((80 * 100 + 0 * 100 + 40 * 197) / 397)
    assert ilots.at[0, "classe_potentiel"] == "moyen"  # 39,8 : entre 30 et 60
    assert ilots.at[0, "nombre_parcelles"] == 3 and ilots.at[0, "nombre_exclues"] == 1
    assert ilots.at[0, "surface_impermeable_non_batie_ilot"] == 160
    assert "1 parcelle(s) exclue(s)" in ilots.at[0, "motifs"]
    assert ilots.at[1, "classe_potentiel"] == "inconnu" and np.isnan(ilots.at[1, "score_potentiel"])
    seule_exclue = agreger_potentiel_ilots(potentiel.iloc[[1]], criteres.iloc[[1]], np.array([0]), regles)
    assert seule_exclue["classe_potentiel"].tolist() == ["exclu"]


def test_ilots_d_une_commune_de_la_demo(dossier_demo_copie):
    """Service : chaque parcelle dans un seul îlot, contours en WGS84, identifiants « code-Irang »."""
    from donnees.partitions import lister_communes
    from services.modeles import calculer_modeles_territoire
    from services.potentiel import calculer_potentiel_commune, calculer_potentiel_ilots

    code = lister_communes("parcelles", dossier_demo_copie)[0]
    potentiel = calculer_potentiel_commune(code, dossier_demo_copie,
                                           modeles=calculer_modeles_territoire(dossier_demo_copie))
    ilots = calculer_potentiel_ilots(code, potentiel, dossier_demo_copie)
    assert ilots.crs.to_epsg() == 4326 and ilots.geometry.is_valid.all()
    assert int(ilots["nombre_parcelles"].sum()) == len(potentiel)
    assert 1 < len(ilots) < len(potentiel)  # le parcellaire de démonstration est découpé en îlots bordés de voies
    assert ilots["ilot"].str.match(rf"^{code}-I\d{{5}}$").all() and ilots["ilot"].is_unique
    assert ilots["surface_ilot"].sum() == pytest.approx(potentiel["surface_parcelle"].sum())
