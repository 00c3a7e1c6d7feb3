"""Tests des indicateurs vectoriels (surfaces, eau, trajectoire, finances) sur un petit jeu construit à la
main : carrés tracés en Lambert-93 (10 m × 10 m = 100 m²) puis reprojetés en WGS84, valeurs attendues
calculées à la main dans les commentaires."""

from __future__ import annotations

import copy

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from donnees.erreurs import ErreurDonnees
from indicateurs.calcul import (
    calculer_indicateurs_annees,
    calculer_indicateurs_communes,
    calculer_indicateurs_operations,
)
from indicateurs.communs import Filtres, diviser, preparer_zones, recalculer_surfaces
from indicateurs.eau import calculer_volume_abattu, calculer_volume_retenu
from indicateurs.finances import calculer_aides_par_financeur
from indicateurs.surfaces import (
    calculer_surface_active_deconnectee,
    calculer_surface_desimpermeabilisee,
    calculer_surface_impermeable_communes,
    signaler_ecart_surface,
)
from indicateurs.trajectoire import calculer_trajectoire, interpoler_objectifs

A, B = "34301", "34003"
X0, Y0 = 750_000.0, 6_255_000.0  # Lambert-93, près de Sète
PARAMETRES = {"pluie_annuelle_mm": 600.0, "pluie_reference_mm": 15.0, "ecart_surface_declaree": 0.10,
              "ratio_sdage_cible": 1.5, "uhi_max_c": 3.0}
REVETEMENTS = pd.DataFrame({"code": ["enrobe", "beton", "stabilise", "pelouse", "arbres", "noue"],
                            "impermeable": [True, True, False, False, False, False],
                            "c_ruissellement": [0.90, 0.85, 0.50, 0.15, 0.05, 0.00]}).set_index("code")


def carre(x: float, y: float, largeur: float, hauteur: float | None = None):
    """Rectangle en Lambert-93 (décalé de X0, Y0)."""
    return box(X0 + x, Y0 + y, X0 + x + largeur, Y0 + y + (largeur if hauteur is None else hauteur))


def en_wgs84(geometries) -> gpd.GeoSeries:
    return gpd.GeoSeries(geometries, crs="EPSG:2154").to_crs("EPSG:4326")


@pytest.fixture
def jeu():
    """Deux communes, trois opérations, cinq zones (surfaces du magasin volontairement fausses)."""
    communes = gpd.GeoDataFrame({"code_insee": [A, B], "nom": ["Sète", "Agde"]},
                                geometry=en_wgs84([carre(0, 0, 1000), carre(2000, 0, 500)]))
    occupation = gpd.GeoDataFrame(
        {"id": ["o1", "o2", "o3", "o4"], "code_insee": [A, A, A, B],
         "code_cs": ["CS1.1.1.1", "CS1.1.1.2", "CS2.2.1", "CS1.1.1.2"], "code_us": [None] * 4},
        geometry=en_wgs84([carre(0, 0, 100), carre(100, 0, 200, 100), carre(300, 0, 300),
                           carre(2000, 0, 50)]))
    operations = pd.DataFrame({
        "id": [1, 2, 3], "operation_id": [1, 2, 3], "code_insee": [A, A, B],
        "nom": ["Cour de l'école", "Parking de la gare", "Place du marché"],
        "type_site": ["cour_ecole", "parking", "place"], "statut": ["realisee", "programmee", "realisee"],
        "validation": ["validee", "a_valider", "validee"], "annee": pd.array([2022, 2024, 2023], dtype="Int64"),
        "cout_ht_eur": [10_000.0, np.nan, 20_000.0], "deconnexion_reseau": [True, False, True],
        "volume_stockage_m3": [5.0, np.nan, np.nan], "surface_declaree_m2": [200.0, 100.0, np.nan],
        "montant_aides_eur": [5_000.0, 0.0, 10_000.0]})
    zones = gpd.GeoDataFrame({
        "zone_id": [1, 2, 3, 4, 5], "operation_id": [1, 1, 2, 3, 3],
        "revetement_avant": ["enrobe", "enrobe", "beton", "stabilise", "enrobe"],
        "revetement_apres": ["pelouse", "enrobe", "noue", "pelouse", "arbres"],
        "surface_m2": [1.0, 1.0, 1.0, 1.0, 1.0]},
        geometry=en_wgs84([carre(10, 10, 10), carre(30, 10, 10), carre(50, 10, 10, 5), carre(2010, 10, 20, 10),
                           carre(2040, 10, 10)]))
    financements = pd.DataFrame({"operation_id": [1, 1, 3],
                                 "financeur": ["Agence de l'eau", "Région Occitanie", "Agence de l'eau"],
                                 "montant_eur": [4_000.0, 1_000.0, 10_000.0]})
    objectifs = pd.DataFrame({"territoire": ["bassin", "bassin", A, A], "annee": [2022, 2024, 2022, 2024],
                              "surface_m2": [100.0, 300.0, 50.0, 150.0]})
    nouvelles = pd.DataFrame({"code_insee": [A, A, B], "annee": [2022, 2023, 2023],
                              "surface_m2": [100.0, 50.0, 40.0], "source": ["test"] * 3})
    return {"communes": communes, "occupation": occupation, "operations": operations, "zones": zones,
            "financements": financements, "objectifs": objectifs, "nouvelles": nouvelles}


def communes_de(jeu, filtres=None, **options):
    imp = calculer_surface_impermeable_communes(jeu["occupation"])
    return calculer_indicateurs_communes(jeu["operations"], jeu["zones"], jeu["financements"], jeu["communes"], imp,
                                         jeu["objectifs"], jeu["nouvelles"], PARAMETRES, filtres, REVETEMENTS,
                                         **options).set_index("territoire")


def operations_de(jeu, filtres=None):
    return calculer_indicateurs_operations(jeu["operations"], jeu["zones"], jeu["financements"], PARAMETRES,
                                           filtres, REVETEMENTS).set_index("operation_id")


def annees_de(jeu, filtres=None):
    return calculer_indicateurs_annees(jeu["operations"], jeu["zones"], jeu["financements"], jeu["communes"],
                                       jeu["objectifs"], jeu["nouvelles"], PARAMETRES, filtres,
                                       REVETEMENTS).set_index(["territoire", "annee"])


# ------------------------------------------------------------------------------------- surfaces


def test_recalculer_surfaces_en_lambert93(jeu):
    surfaces = recalculer_surfaces(jeu["zones"])
    assert surfaces.to_numpy() == pytest.approx([100, 100, 50, 200, 100], abs=1e-3)


def test_formules_par_zone(jeu):
    zp = preparer_zones(jeu["zones"], jeu["operations"], REVETEMENTS)
    # enrobe→pelouse 100 m², enrobe→enrobe 100, béton→noue 50, stabilisé→pelouse 200, enrobé→arbres 100
    assert calculer_surface_desimpermeabilisee(zp).to_numpy() == pytest.approx([100, 0, 50, 0, 100], abs=1e-3)
    # A × C_avant si l'opération déconnecte (op 1 et 3) : 100×0,9 ; 100×0,9 ; 0 ; 200×0,5 ; 100×0,9
    assert calculer_surface_active_deconnectee(zp).to_numpy() == pytest.approx([90, 90, 0, 100, 90], abs=1e-3)
    # A × 600/1000 × ΔC : 100×0,6×0,75 ; 0 ; 50×0,6×0,85 ; 200×0,6×0,35 ; 100×0,6×0,85
    assert calculer_volume_retenu(zp, 600).to_numpy() == pytest.approx([45, 0, 25.5, 42, 51], abs=1e-4)
    # même chose avec 15 mm
    assert calculer_volume_abattu(zp, 15).to_numpy() == pytest.approx([1.125, 0, 0.6375, 1.05, 1.275], abs=1e-5)


def test_surface_impermeable_par_commune(jeu):
    table = calculer_surface_impermeable_communes(jeu["occupation"]).set_index("code_insee")
    # A : bâti 100×100 + non bâti 200×100 (la pelouse ne compte pas) ; B : 50×50 non bâti
    assert table.loc[A, "surface_impermeable"] == pytest.approx(30_000, abs=0.1)
    assert table.loc[A, "surface_impermeable_batie"] == pytest.approx(10_000, abs=0.1)
    assert table.loc[A, "surface_impermeable_non_batie"] == pytest.approx(20_000, abs=0.1)
    assert table.loc[B, "surface_impermeable"] == pytest.approx(2_500, abs=0.1)


def test_ecart_de_surface_declaree():
    ecart, signale = signaler_ecart_surface([110.0, 111.0, np.nan, 5.0], [100.0, 100.0, 100.0, 0.0], 0.10)
    assert ecart[:2] == pytest.approx([10.0, 11.0])
    assert np.isnan(ecart[2]) and np.isnan(ecart[3])
    assert signale.tolist() == [False, True, False, True]  # 10 % pile n'est pas signalé


# ------------------------------------------------------------------------------- par opération


def test_indicateurs_par_operation(jeu):
    t = operations_de(jeu)
    assert t.loc[1, "surface_zones"] == pytest.approx(200, abs=1e-3)  # géométrie, pas surface_m2 (1.0)
    assert t["surface_desimpermeabilisee"].to_numpy() == pytest.approx([100, 50, 100], abs=1e-3)
    assert t["surface_active_deconnectee"].to_numpy() == pytest.approx([180, 0, 190], abs=1e-3)
    assert t["volume_infiltre"].to_numpy() == pytest.approx([45, 25.5, 93], abs=1e-4)
    # op 1 : 1,125 + 5 m³ de stockage ; op 3 : 1,05 + 1,275
    assert t["volume_abattu_pluie_reference"].to_numpy() == pytest.approx([6.125, 0.6375, 2.325], abs=1e-5)
    assert t.loc[1, "montant_aides"] == 5_000 and t.loc[1, "taux_aide"] == pytest.approx(50)
    assert t.loc[1, "reste_a_charge"] == 5_000
    assert t.loc[1, "cout_par_m2"] == pytest.approx(100, rel=1e-6)
    assert t.loc[3, "cout_par_m3_infiltre"] == pytest.approx(20_000 / 93, rel=1e-6)
    assert np.isnan(t.loc[2, "taux_aide"]) and np.isnan(t.loc[2, "cout_par_m2"])  # coût inconnu
    assert t["ecart_surface_signale"].tolist() == [False, True, False]  # op 2 : 100 déclarés, 50 dessinés
    assert t.loc[2, "ecart_surface_relatif"] == pytest.approx(100, abs=1e-3)


def test_aides_sans_table_des_financements(jeu):
    t = calculer_indicateurs_operations(jeu["operations"], jeu["zones"], None, PARAMETRES, None, REVETEMENTS)
    assert t["montant_aides"].tolist() == [5_000, 0, 10_000]


# ----------------------------------------------------------------------------- communes, bassin


def test_indicateurs_par_commune_et_bassin(jeu):
    t = communes_de(jeu)
    assert list(t.index) == [A, B, "bassin"]
    assert t.loc["bassin", "nom"] == "Ensemble du bassin"
    assert t["nombre_operations"].tolist() == [2, 1, 3]
    assert t["surface_desimpermeabilisee"].to_numpy() == pytest.approx([150, 100, 250], abs=1e-3)
    assert t["surface_active_deconnectee"].to_numpy() == pytest.approx([180, 190, 370], abs=1e-3)
    assert t["volume_infiltre"].to_numpy() == pytest.approx([70.5, 93, 163.5], abs=1e-3)
    assert t["surface_commune"].to_numpy() == pytest.approx([1e6, 250_000, 1.25e6], rel=1e-6)
    # 30 000 / 1 000 000 ; 2 500 / 250 000 ; 32 500 / 1 250 000
    assert t["taux_impermeabilisation"].to_numpy() == pytest.approx([3.0, 1.0, 2.6], rel=1e-6)
    # 150 / 30 000 ; 100 / 2 500
    assert t["part_desimpermeabilisee"].to_numpy()[:2] == pytest.approx([0.5, 4.0], rel=1e-6)
    assert t["nombre_ecarts_signales"].tolist() == [1, 0, 1]


def test_finances_par_commune(jeu):
    t = communes_de(jeu)
    assert t["cout_total_ht"].tolist() == [10_000, 20_000, 30_000]
    assert t["montant_aides"].tolist() == [5_000, 10_000, 15_000]
    assert t["nombre_operations_cout_connu"].tolist() == [1, 1, 2]
    # A : l'opération 2 (coût inconnu) n'entre pas dans le coût unitaire : 10 000 / 100 m²
    assert t.loc[A, "cout_par_m2"] == pytest.approx(100, rel=1e-6)
    assert t.loc["bassin", "cout_par_m2"] == pytest.approx(30_000 / 200, rel=1e-6)
    assert t.loc["bassin", "cout_par_m3_infiltre"] == pytest.approx(30_000 / (45 + 93), rel=1e-6)
    assert t.loc["bassin", "taux_aide"] == pytest.approx(50, rel=1e-9)


def test_aides_par_financeur(jeu):
    t = calculer_aides_par_financeur(jeu["operations"], jeu["financements"]).set_index(["territoire", "financeur"])
    assert t.loc[("bassin", "Agence de l'eau"), "montant_aides"] == 14_000
    assert t.loc[("bassin", "Agence de l'eau"), "part_aides_financeur"] == pytest.approx(14_000 / 15_000 * 100)
    assert t.loc[(A, "Région Occitanie"), "part_aides_financeur"] == pytest.approx(20)
    par_annee = calculer_aides_par_financeur(jeu["operations"], jeu["financements"], par_annee=True)
    assert set(par_annee["annee"].dropna()) == {2022, 2023}


def test_ratio_sdage(jeu):
    t = communes_de(jeu)
    # période complète : A 150 / (100 + 50) ; B 100 / 40 ; bassin 250 / 190 ; en % (issue 11), cible 150 %
    assert t["nouvelles_surfaces_impermeabilisees"].tolist() == [150, 40, 190]
    assert t["ratio_compensation_sdage"].to_numpy() == pytest.approx([100.0, 250.0, 100 * 250 / 190])
    assert t["ratio_sdage_atteint"].tolist() == [False, True, False]
    # année 2023 seule : bassin 100 / 90
    t = communes_de(jeu, Filtres(annees=[2023]))
    assert t.loc["bassin", "ratio_compensation_sdage"] == pytest.approx(100 * 100 / 90)
    assert t.loc[A, "ratio_compensation_sdage"] == 0  # rien désimperméabilisé en 2023 dans A


def test_trajectoire_a_l_annee_de_reference(jeu):
    t = communes_de(jeu)
    assert t.attrs["annee_reference"] == 2023  # dernière année d'une opération réalisée
    assert t["surface_cumulee"].to_numpy() == pytest.approx([100, 100, 200], abs=1e-3)
    # A : objectif interpolé entre 50 (2022) et 150 (2024) → 100 ; B : pas d'objectif
    assert t.loc[A, "objectif_cumule"] == pytest.approx(100)
    assert np.isnan(t.loc[B, "objectif_cumule"]) and np.isnan(t.loc[B, "taux_atteinte_objectif"])
    assert t.loc["bassin", "objectif_cumule"] == pytest.approx(200)
    assert t.loc[A, "taux_atteinte_objectif"] == pytest.approx(100, rel=1e-6)
    assert t.loc[A, "ecart_objectif"] == pytest.approx(0, abs=1e-3)


def test_trajectoire_par_annee_et_projection(jeu):
    t = annees_de(jeu)
    assert sorted(set(t.index.get_level_values("annee"))) == [2022, 2023, 2024]
    assert t.loc[(A, 2022), "surface_desimpermeabilisee"] == pytest.approx(100, abs=1e-3)
    assert t.loc[(A, 2022), "ratio_compensation_sdage"] == pytest.approx(100.0, rel=1e-6)
    assert t.loc[("bassin", 2023), "surface_cumulee"] == pytest.approx(200, abs=1e-3)
    # 2024 est après l'année de référence : pas de « réalisé », mais la projection compte l'op. 2
    assert np.isnan(t.loc[(A, 2024), "surface_cumulee"])
    assert t.loc[(A, 2024), "surface_cumulee_projetee"] == pytest.approx(150, abs=1e-3)
    assert t.loc[("bassin", 2024), "objectif_cumule"] == 300
    assert t.loc[("bassin", 2024), "nombre_operations"] == 1


def test_objectif_du_bassin_pour_une_selection_partielle(jeu):
    large = interpoler_objectifs(jeu["objectifs"], [A], [2022, 2023], selection_complete=False)
    assert large.loc["bassin"].tolist() == [50, 100]  # somme des communes retenues, pas la ligne bassin
    t = communes_de(jeu, Filtres(communes=[A]))
    assert list(t.index) == [A, "bassin"]
    assert t.loc["bassin", "surface_desimpermeabilisee"] == pytest.approx(150, abs=1e-3)
    assert t.loc["bassin", "objectif_cumule"] == pytest.approx(100)


# ---------------------------------------------------------------------------------------- filtres


def test_filtres_appliques_partout(jeu):
    filtres = Filtres(statuts=["realisee"], validations=["validee"], types=["cour_ecole", "place"])
    assert list(operations_de(jeu, filtres).index) == [1, 3]
    t = communes_de(jeu, filtres)
    assert t["surface_desimpermeabilisee"].to_numpy() == pytest.approx([100, 100, 200], abs=1e-3)
    assert t.loc["bassin", "surface_cumulee_projetee"] == pytest.approx(200, abs=1e-3)  # op. 2 exclue
    a = annees_de(jeu, filtres)
    assert a["nombre_operations"].xs("bassin").sum() == 2
    f = calculer_aides_par_financeur(jeu["operations"], jeu["financements"], Filtres(communes=[B]))
    assert set(f["territoire"]) == {B, "bassin"}


def test_filtre_d_annees_garde_le_cumul_depuis_le_debut(jeu):
    a = annees_de(jeu, Filtres(annees=[2023]))
    assert sorted(set(a.index.get_level_values("annee"))) == [2023]
    assert a.loc[("bassin", 2023), "surface_desimpermeabilisee"] == pytest.approx(100, abs=1e-3)
    assert a.loc[("bassin", 2023), "surface_cumulee"] == pytest.approx(200, abs=1e-3)


def test_operation_sans_annee(jeu):
    jeu["operations"]["annee"] = pd.array([2022, None, 2023], dtype="Int64")  # programmée sans date prévue
    assert operations_de(jeu)["annee"].dtype == "Int64"
    t = communes_de(jeu)
    assert t.loc[A, "nombre_operations"] == 2  # comptée sans filtre d'année…
    assert t.loc[A, "surface_cumulee_projetee"] == pytest.approx(100, abs=1e-3)  # … mais pas placée
    assert communes_de(jeu, Filtres(annees=[2022, 2023, 2024])).loc[A, "nombre_operations"] == 1
    assert annees_de(jeu)["nombre_operations"].xs("bassin").sum() == 2


def test_filtre_invalide_refuse():
    with pytest.raises(ErreurDonnees, match="statuts"):
        Filtres(statuts=["terminee"])
    assert Filtres(annees=range(2020, 2023)).annees == (2020, 2021, 2022)
    assert hash(Filtres(types=["parking"])) == hash(Filtres(types=("parking",)))


def test_selection_vide_sans_erreur(jeu):
    vide = Filtres(statuts=[])
    assert operations_de(jeu, vide).empty
    t = communes_de(jeu, vide)
    assert (t["surface_desimpermeabilisee"] == 0).all() and (t["nombre_operations"] == 0).all()
    assert t["cout_par_m2"].isna().all() and t["taux_aide"].isna().all()
    assert t["ratio_compensation_sdage"].eq(0).all()
    assert annees_de(jeu, vide)["surface_cumulee"].fillna(0).eq(0).all()
    assert calculer_aides_par_financeur(jeu["operations"], jeu["financements"], vide).empty


def test_registre_vide_sans_erreur(jeu):
    operations = jeu["operations"].iloc[0:0]
    zones = jeu["zones"].iloc[0:0]
    t = calculer_indicateurs_communes(operations, zones, jeu["financements"].iloc[0:0], jeu["communes"], None,
                                      None, None, PARAMETRES, None, REVETEMENTS).set_index("territoire")
    assert t.attrs["annee_reference"] is None
    assert (t["surface_desimpermeabilisee"] == 0).all()
    assert t["taux_impermeabilisation"].isna().all() and t["objectif_cumule"].isna().all()
    a = calculer_indicateurs_annees(operations, zones, None, jeu["communes"], None, None, PARAMETRES, None,
                                    REVETEMENTS)
    assert a.empty
    assert calculer_trajectoire(calculer_indicateurs_operations(operations, zones, None, PARAMETRES, None,
                                                                REVETEMENTS), None, [A], []).empty


def test_division_par_zero_donne_nan():
    assert np.isnan(diviser(1.0, 0.0)) and np.isnan(diviser(0.0, 0.0)) and np.isnan(diviser(1.0, np.nan))
    resultat = diviser(pd.Series([1.0, 2.0, -1.0], index=["a", "b", "c"]), [0.0, 4.0, 0.0])
    assert list(resultat.index) == ["a", "b", "c"] and resultat["b"] == 0.5 and resultat.isna().sum() == 2


def test_aucune_valeur_infinie(jeu):
    jeu["operations"].loc[0, "cout_ht_eur"] = 0.0  # coût nul : taux d'aide indéfini, pas infini
    for table in (operations_de(jeu), communes_de(jeu), annees_de(jeu)):
        numeriques = table.select_dtypes("number")
        assert not np.isinf(numeriques.to_numpy(dtype=float, na_value=np.nan)).any()


def test_revetement_inconnu_refuse(jeu):
    jeu["zones"].loc[0, "revetement_apres"] = "gazon_synthetique"
    with pytest.raises(ErreurDonnees, match="gazon_synthetique"):
        operations_de(jeu)


# --------------------------------------------------------------------------------- non-mutation


def test_entrees_jamais_modifiees(jeu):
    avant = copy.deepcopy(jeu)
    operations_de(jeu, Filtres(statuts=["realisee"]))
    communes_de(jeu, Filtres(annees=[2022, 2023]))
    annees_de(jeu)
    calculer_aides_par_financeur(jeu["operations"], jeu["financements"], par_annee=True)
    calculer_surface_impermeable_communes(jeu["occupation"])
    recalculer_surfaces(jeu["zones"])
    for cle, valeur in avant.items():
        pd.testing.assert_frame_equal(jeu[cle], valeur, check_exact=True)
        assert jeu[cle].attrs == valeur.attrs


# ---------------------------------------------------------------------- paramètres par défaut, démo


def test_sur_la_demonstration_avec_les_parametres_par_defaut(dossier_demo):
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_couche

    magasin = Magasin(url_base(dossier_demo))
    operations, zones, financements = magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()
    communes = lire_couche("communes", dossier_demo)
    imp = calculer_surface_impermeable_communes(lire_couche("occupation", dossier_demo))
    filtres = Filtres(statuts=["realisee"])
    t = calculer_indicateurs_communes(operations, zones, financements, communes, imp,
                                      lire_couche("objectifs", dossier_demo),
                                      lire_couche("nouvelles_surfaces", dossier_demo), filtres=filtres)
    communes_seules = t[t["territoire"] != "bassin"]
    bassin = t[t["territoire"] == "bassin"].iloc[0]
    for colonne in ("surface_desimpermeabilisee", "volume_infiltre", "cout_total_ht", "montant_aides"):
        assert bassin[colonne] == pytest.approx(communes_seules[colonne].sum())
    assert bassin["surface_desimpermeabilisee"] > 0
    ops = calculer_indicateurs_operations(operations, zones, financements, filtres=filtres)
    assert (ops["surface_desimpermeabilisee"] <= ops["surface_zones"] + 1e-6).all()
    # surfaces recalculées = surfaces du magasin (calculées en Lambert-93 à l'enregistrement)
    assert recalculer_surfaces(zones).to_numpy() == pytest.approx(zones["surface_m2"].to_numpy(), rel=1e-6)


def test_indicateurs_par_type_de_site_sommes_et_ratios(dossier_demo):
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from indicateurs.calcul import calculer_indicateurs_groupes, calculer_indicateurs_operations

    magasin = Magasin(url_base(dossier_demo))
    operations, zones, financements = magasin.lire_operations(), magasin.lire_zones(), magasin.lire_financements()
    par_operation = calculer_indicateurs_operations(operations, zones, financements)
    par_type = calculer_indicateurs_groupes(operations, zones, financements, "type_site")
    assert par_type["nombre_operations"].sum() == len(operations)
    assert par_type["surface_desimpermeabilisee"].sum() == pytest.approx(
        par_operation["surface_desimpermeabilisee"].sum())
    ligne = par_type.iloc[0]
    connues = par_operation[(par_operation["type_site"] == ligne["type_site"])
                            & par_operation["cout_total_ht"].notna()]
    assert ligne["cout_par_m2"] == pytest.approx(connues["cout_total_ht"].sum()
                                                 / connues["surface_desimpermeabilisee"].sum())
    vide = calculer_indicateurs_groupes(operations, zones, financements, "type_site",
                                        filtres=Filtres(statuts=()))
    assert vide.empty and "cout_par_m2" in vide.columns


def test_joindre_indicateurs_grille_moyenne_ponderee_et_sommes():
    from indicateurs.calcul import joindre_indicateurs_grille

    table = pd.DataFrame({"territoire": ["A", "B", "bassin"], "nom": ["A", "B", "Ensemble du bassin"]})
    chaleur = pd.DataFrame({
        "code_insee": ["A", "B", "A", "B"], "scenario": ["realisees", "realisees", "realisees_programmees",
                                                         "realisees_programmees"],
        "t_air_moyenne_c": [32.0, 31.0, 31.9, 30.9], "anomalie_moyenne_c": [2.0, 1.0, 1.9, 0.9],
        "surface_ilot_chaleur_m2": [100.0, 0.0, 90.0, 0.0], "surface_urbaine_m2": [300.0, 100.0, 300.0, 100.0],
        "delta_t_air_c": [-0.04, 0.0, -0.08, -0.02]})
    eau = pd.DataFrame({"code_insee": ["A", "B"], "scenario": ["realisees", "realisees"],
                        "volume_retention_m3_an": [10.0, 5.0], "volume_ruissellement_m3_an": [1.0, 2.0],
                        "volume_percolation_m3_an": [0.5, 0.5], "delta_volume_retention_m3_an": [3.0, 0.0]})
    copie = table.copy()
    resultat = joindre_indicateurs_grille(table, chaleur, eau).set_index("territoire")
    pd.testing.assert_frame_equal(table, copie)
    assert resultat.loc["bassin", "t_air_moyenne"] == pytest.approx((32.0 * 300 + 31.0 * 100) / 400)
    assert resultat.loc["bassin", "delta_t_operations"] == pytest.approx(-0.03)
    assert resultat.loc["A", "delta_t_programmees"] == pytest.approx(-0.08)
    assert resultat.loc["bassin", "surface_ilot_chaleur"] == 100.0
    assert resultat.loc["bassin", "delta_volume_retenu_grille"] == 3.0
    sans = joindre_indicateurs_grille(table, None, None)
    assert sans["t_air_moyenne"].isna().all()
