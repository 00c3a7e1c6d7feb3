"""Tests du catalogue des indicateurs : tout ce que produisent les points d'entrée y est déclaré, chaque
paramètre cité existe, chaque entrée a une source, et les aides d'affichage fonctionnent."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from donnees.erreurs import ErreurDonnees
from indicateurs.calcul import (
    COLONNES_ANNEES,
    COLONNES_COMMUNES,
    COLONNES_OPERATIONS,
    calculer_indicateurs_annees,
    calculer_indicateurs_communes,
    calculer_indicateurs_operations,
)
from indicateurs.catalogue import (
    COLONNES_IDENTIFIANTS,
    FAMILLES,
    PARAMETRES_PAR_REVETEMENT_FICHIERS,
    PARAMETRES_REVETEMENTS,
    codes_famille,
    decrire_indicateur,
    formater_chiffre,
    formater_valeur,
    libelle,
    lire_catalogue,
    titre_axe,
    unite,
)
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.parametres import FICHIER_CHALEUR_SITE, lire_parametres, lire_table_parametres
from indicateurs.priorites import COLONNES_PRIORITES, FICHIER_PRIORITES, calculer_priorites

CODES_CHALEUR = {"t_air_moyenne", "anomalie_chaleur", "surface_ilot_chaleur", "delta_t_operations",
                 "delta_t_programmees", "rafraichissement_emprise", "rafraichissement_abords", "surface_abords",
                 "surface_sortie_ilot", "delta_cc_site", "delta_t_site"}


@pytest.fixture(scope="module")
def sorties():
    """Colonnes réellement produites par chaque point d'entrée, sur un mini-jeu."""
    geometrie = gpd.GeoSeries([box(750_000, 6_255_000, 750_010, 6_255_010)], crs="EPSG:2154").to_crs(4326)
    communes = gpd.GeoDataFrame({"code_insee": ["34301"], "nom": ["Sète"]}, geometry=geometrie)
    operations = pd.DataFrame({"operation_id": [1], "code_insee": ["34301"], "nom": ["Cour"],
                               "type_site": ["cour_ecole"], "statut": ["realisee"], "validation": ["validee"],
                               "annee": pd.array([2023], dtype="Int64"), "cout_ht_eur": [1000.0],
                               "deconnexion_reseau": [True], "volume_stockage_m3": [np.nan],
                               "surface_declaree_m2": [100.0], "parcelles": [["34301000AB0001"]]})
    zones = gpd.GeoDataFrame({"zone_id": [1], "operation_id": [1], "revetement_avant": ["enrobe"],
                              "revetement_apres": ["pelouse"]}, geometry=geometrie)
    financements = pd.DataFrame({"operation_id": [1], "financeur": ["Agence de l'eau"], "montant_eur": [500.0]})
    occupation = gpd.GeoDataFrame({"code_insee": ["34301"], "code_cs": ["CS1.1.1.2"]}, geometry=geometrie)
    parcelles = gpd.GeoDataFrame({"id": ["34301000AB0001"], "commune": ["34301"]}, geometry=geometrie)
    return {
        "operations": calculer_indicateurs_operations(operations, zones, financements).columns,
        "communes": calculer_indicateurs_communes(operations, zones, financements, communes).columns,
        "annees": calculer_indicateurs_annees(operations, zones, financements, communes).columns,
        "financeurs": calculer_aides_par_financeur(operations, financements).columns,
        "priorites": calculer_priorites(parcelles, occupation, operations=operations).columns,
    }


def test_toutes_les_colonnes_produites_sont_declarees(sorties):
    declares = set(lire_catalogue().index) | set(COLONNES_IDENTIFIANTS)
    for nom, colonnes in sorties.items():
        manquantes = set(colonnes) - declares
        assert not manquantes, f"{nom} : colonnes absentes du catalogue {manquantes}"
    assert list(sorties["operations"]) == COLONNES_OPERATIONS
    assert list(sorties["communes"]) == COLONNES_COMMUNES
    assert list(sorties["annees"]) == COLONNES_ANNEES
    assert list(sorties["priorites"]) == COLONNES_PRIORITES


def test_indicateurs_des_autres_modules_declares():
    codes = set(lire_catalogue().index)
    assert CODES_CHALEUR <= codes
    assert {"volume_retenu_grille", "volume_ruissele_grille", "volume_percole_grille"} <= codes
    assert set(codes_famille("chaleur")) == CODES_CHALEUR


def test_chaque_parametre_cite_existe_et_chaque_entree_a_une_source():
    catalogue = lire_catalogue()
    connus = (set(lire_table_parametres().index) | set(lire_table_parametres(FICHIER_PRIORITES).index)
              | set(lire_table_parametres(FICHIER_CHALEUR_SITE).index) | set(PARAMETRES_REVETEMENTS)
              | set(PARAMETRES_PAR_REVETEMENT_FICHIERS))
    for code, ligne in catalogue.iterrows():
        assert ligne["source"].strip(), code
        assert ligne["formule"].strip() and ligne["libelle"].strip() and ligne["unite"].strip(), code
        assert ligne["famille"] in FAMILLES, code
        assert 0 <= ligne["decimales"] <= 4, code
        for parametre in filter(None, ligne["parametres"].split(";")):
            assert parametre in connus, f"{code} cite un paramètre inconnu : {parametre}"


def test_aides_d_affichage():
    assert titre_axe("surface_desimpermeabilisee") == "Surface désimperméabilisée (m²)"
    assert titre_axe("ratio_compensation_sdage") == "Ratio de compensation SDAGE (%)"  # en % (issue 11)
    assert titre_axe("ratio_sdage_atteint") == "Ratio SDAGE atteint"  # sans unité
    assert titre_axe("annee") == "Année" and libelle("territoire") == "Territoire"
    assert unite("volume_infiltre") == "m³/an" and unite("cout_par_m3_infiltre") == "€/(m³/an)"
    assert formater_valeur("surface_desimpermeabilisee", 12_345.6) == "12\u202f346 m²"
    assert formater_valeur("taux_aide", 45.678) == "45,7 %"
    assert formater_valeur("taux_aide", np.nan) == "—"
    assert formater_valeur("ratio_sdage_atteint", True) == "oui"
    # Cartes de chiffres (Vue d'ensemble, rapports) : unité accolée par une espace insécable, absente → « — ».
    assert formater_chiffre("surface_desimpermeabilisee", 12_345.6) == "12\u202f346\u202fm²"
    assert formater_chiffre("surface_desimpermeabilisee", np.nan) == formater_chiffre("taux_aide", None) == "—"
    with pytest.raises(ErreurDonnees, match="absent du catalogue"):
        libelle("indicateur_imaginaire")


def test_decrire_indicateur_pour_la_page_methode():
    parametres = lire_parametres({"pluie_annuelle_mm": 650})
    fiche = decrire_indicateur("volume_infiltre", parametres)
    # issue 12 : le volume est une rétention (infiltration + évapotranspiration), plus un « volume infiltré »
    assert fiche["titre"] == "Volume retenu en plus (infiltration + évapotranspiration) (m³/an)"
    assert fiche["famille"] == "Eau"
    assert "P/1000" in fiche["formule"]
    pluie, coefficient = fiche["parametres"]
    assert pluie["code"] == "pluie_annuelle_mm" and pluie["valeur"] == 650 and pluie["source"]
    assert coefficient["valeur"]["enrobe"] == pytest.approx(0.87) and coefficient["source"]["enrobe"]  # InVEST, annuel
    score = decrire_indicateur("score_priorite")
    assert {p["code"] for p in score["parametres"]} >= {"poids_chaleur", "uhi_max_c"}
    for code in lire_catalogue().index:  # toutes les fiches se construisent
        assert decrire_indicateur(code)["source"]


def test_lire_catalogue_rend_une_copie():
    catalogue = lire_catalogue()
    catalogue.loc["volume_infiltre", "libelle"] = "modifié"
    assert libelle("volume_infiltre") == "Volume retenu en plus (infiltration + évapotranspiration)"
