"""Démonstration « departement » (343 communes de l'Hérault, par paquets) : règles et chaîne complète sur
quelques communes (la vraie taille est mesurée par tests/bench/test_bench_departement.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import shapely

from donnees.demo import departement, orchestration
from donnees.demo.parametres import lire_communes_demo, lire_parametres, lire_sources_demo
from donnees.magasin import Magasin
from donnees.partitions import lire_manifeste
from donnees.referentiel import lire_couche, lire_territoire


@pytest.fixture(scope="module")
def herault():
    parametres = lire_parametres()
    return parametres, *departement.lire_communes_departement(parametres)


def test_communes_et_populations_documentees(herault):
    parametres, table, contours = herault
    assert len(table) == 343 and table["code_insee"].is_unique
    assert shapely.contains_xy(contours, *departement.transformateur(
        departement.CRS_STOCKAGE, departement.CRS_CALCUL).transform(table["lon"], table["lat"])).all()
    thau = lire_communes_demo().set_index("code_insee")["population"]
    reelles = table.set_index("code_insee").loc[thau.index, "population"]
    assert (reelles == thau).all()  # population INSEE gardée pour le bassin de Thau
    assert (table["population"] >= parametres["departement"]["population_min"]).all()
    assert table.set_index("code_insee")["population"].idxmax() == "34172"  # Montpellier
    assert "population" in lire_sources_demo()["communes_departement"]["note"]


def test_paquets_couvrent_chaque_commune_une_fois(herault):
    parametres, table, contours = herault
    paquets = departement.former_paquets(contours, 6, parametres["departement"]["pas_morton_m"])
    assert sorted(np.concatenate(paquets).tolist()) == list(range(343))
    assert max(len(p) for p in paquets) == 6
    visees = departement.repartir_entre_paquets(table["population"].to_numpy(), paquets, 50_000, 0.9)
    assert visees.sum() == 50_000 and (visees >= 0).all()


def test_chaine_departement_sur_quelques_communes(herault, tmp_path, monkeypatch):
    parametres, table, contours = herault
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    petits = np.argsort(shapely.area(contours))[:8]  # 8 petites communes : quelques secondes
    reduits = copy.deepcopy(parametres)
    reduits["tailles"]["departement"].update(nb_operations=40, nb_photos=1)
    reduits["departement"]["communes_par_paquet"] = 3
    monkeypatch.setattr(orchestration, "lire_parametres", lambda: reduits)
    monkeypatch.setattr(orchestration, "lire_communes_departement",
                        lambda _p: (table.iloc[petits].reset_index(drop=True), contours[petits]))
    resume = orchestration.generer_demo(tmp_path / "dep", taille="departement", graine=5)
    dossier = tmp_path / "dep"
    codes = table["code_insee"].to_numpy()[petits]
    assert resume["paquets"] == 3 and lire_territoire(dossier)["taille"] == "departement"
    manifeste = lire_manifeste("parcelles", dossier)
    assert set(manifeste["partitions"]) == set(codes)
    parcelles = lire_couche("parcelles", dossier)
    assert len(parcelles) == resume["parcelles"] > 0
    occupation = lire_couche("occupation", dossier)
    assert len(occupation) == resume["occupation"] and occupation["id"].is_unique
    assert set(lire_couche("communes", dossier)["code_insee"]) == set(codes)
    magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
    try:
        assert magasin.compter()["operation"] == resume["operations"] > 0
    finally:
        magasin.fermer()
    # Chaque parcelle est dans sa commune (aucune commune voisine d'un autre paquet n'y déborde).
    communes = lire_couche("communes", dossier).to_crs(2154).set_index("code_insee").geometry
    a_plat = parcelles.to_crs(2154)
    hors = shapely.area(shapely.difference(a_plat.geometry.values, communes.loc[a_plat["commune"]].values))
    assert hors.max() < 1.0


def test_polygone_invalide_apres_reprojection_repare():
    import geopandas as gpd

    papillon = shapely.Polygon([(3.5, 43.4), (3.6, 43.5), (3.6, 43.4), (3.5, 43.5)])
    table = gpd.GeoDataFrame({"id": ["a", "b", "c"]}, crs=4326, geometry=[
        shapely.box(3.5, 43.4, 3.6, 43.5), papillon, shapely.Polygon([(3.5, 43.4), (3.6, 43.4), (3.7, 43.4)])])
    reparee = departement.reparer_geometries(table)
    assert reparee["id"].tolist() == ["a", "b"] and reparee.is_valid.all()
    assert reparee.geometry.iloc[0].equals(table.geometry.iloc[0])  # les valides sont inchangées
