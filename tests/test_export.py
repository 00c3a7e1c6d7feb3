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
