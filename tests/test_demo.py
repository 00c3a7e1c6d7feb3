"""Territoire de démonstration (taille « petite ») : contours réels, contenu, validité, reproductibilité, comptes."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from donnees.demo import (
    DOSSIER_DEMO,
    construire_lagune,
    generer_communes,
    generer_demo,
    lire_communes_demo,
    lire_contours_communes,
    lire_parametres,
    placer_noyaux,
)
from donnees.comptes import authentifier, verifier_politique_mot_de_passe
from donnees.demo.comptes import creer_comptes_demo
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin
from donnees.nomenclatures import codes_revetement, lire_correspondance_ocsge, lire_types_site
from donnees.referentiel import COUCHES_OBLIGATOIRES, ecrire_territoire, lire_couche, lire_territoire
from donnees.schemas import valider_couche
from donnees.sources import lire_sources

COLONNES_OPERATIONS = ["code_insee", "nom", "type_site", "statut", "validation", "date_fin_travaux",
                       "cout_ht_eur", "parcelles", "surface_zones_m2", "montant_aides_eur"]


def _generer(dossier, graine, etapes=None):
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DESIMPER_BASE_URL", raising=False)
        rappel = (lambda libelle, fraction: etapes.append((libelle, fraction))) if etapes is not None else None
        return generer_demo(dossier, taille="petite", graine=graine, progression=rappel)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Deux générations avec la même graine, une avec une autre graine."""
    etapes: list = []
    a = tmp_path_factory.mktemp("demo_a")
    b = tmp_path_factory.mktemp("demo_b")
    c = tmp_path_factory.mktemp("demo_c")
    resume = _generer(a, 7, etapes)
    _generer(b, 7)
    _generer(c, 8)
    return {"a": a, "b": b, "c": c, "resume": resume, "etapes": etapes}


def _magasin(dossier) -> Magasin:
    return Magasin(f"sqlite:///{(dossier / 'desimper.sqlite').as_posix()}")


def test_couches_valides_et_territoire(demo):
    for nom in COUCHES_OBLIGATOIRES:
        table = lire_couche(nom, demo["a"])
        assert len(valider_couche(nom, table)) == len(table) > 0
    territoire = lire_territoire(demo["a"])
    assert territoire["demo"] is True and territoire["taille"] == "petite" and territoire["graine"] == 7
    assert territoire["codes_insee"] == lire_communes_demo()["code_insee"].tolist()
    assert "genere_le" in territoire
    # sources : communes réelles (IGN, Licence Ouverte), autres couches synthétiques
    sources = lire_sources(demo["a"])
    for couche in ("communes", "communes_affichage"):
        assert "ADMIN EXPRESS" in sources[couche]["source"] and "Licence Ouverte" in sources[couche]["licence"]
        assert "communes-bassin-thau.geojson" in sources[couche]["fichiers"]
    assert sources["parcelles"]["licence"] == "Données synthétiques" and sources["parcelles"]["demo"] is True


def _etang_l93():
    """Étang de Thau approché (paramètres de la démonstration), en Lambert-93."""
    return construire_lagune(lire_parametres())


def test_communes_contours_reels_moins_etang(demo):
    """Contours réels (IGN ADMIN EXPRESS embarqué) moins l'étang, à 1 % près (remplace l'ancien test des
    cellules de Voronoï « synthétiques »)."""
    communes = lire_couche("communes", demo["a"])
    reference = lire_communes_demo()
    assert len(communes) == 25
    assert communes["code_insee"].tolist() == reference["code_insee"].tolist()
    assert communes["nom"].tolist() == reference["nom"].tolist()
    assert communes["population"].tolist() == reference["population"].tolist()
    assert communes["source_geometrie"].str.contains("ADMIN EXPRESS").all()
    embarque = gpd.read_file(DOSSIER_DEMO / "communes-bassin-thau.geojson").to_crs(2154).set_index("code_insee")
    assert embarque["population_municipale"].loc[reference["code_insee"]].tolist() == \
        reference["population"].tolist()
    attendu = shapely.area(shapely.difference(embarque.geometry.loc[reference["code_insee"]].values, _etang_l93()))
    metrique = communes.to_crs(2154)
    assert np.allclose(metrique.area.to_numpy(), attendu, rtol=0.01)
    # l'étang est retiré des sept riveraines, pas des autres
    riveraines = {"34023", "34039", "34108", "34143", "34150", "34157", "34301"}
    entieres = embarque.area.loc[reference["code_insee"]].to_numpy()
    ecart = dict(zip(reference["code_insee"], entieres - metrique.area.to_numpy()))
    assert {c for c, e in ecart.items() if e > 1e5} == riveraines
    # chaque bourg principal est dans sa commune, les communes ne se chevauchent pas
    assert shapely.contains_xy(communes.geometry.values, reference["lon"], reference["lat"]).all()
    assert metrique.union_all().area == pytest.approx(metrique.area.sum(), rel=1e-6)
    affichage = lire_couche("communes_affichage", demo["a"])
    assert affichage["code_insee"].tolist() == communes["code_insee"].tolist()
    assert shapely.get_num_coordinates(affichage.geometry.values).sum() < \
        shapely.get_num_coordinates(communes.geometry.values).sum()


def test_etang_approche_plausible():
    """L'étang tracé fait entre 60 et 80 km² et touche les sept communes riveraines seulement."""
    etang = _etang_l93()
    assert 60e6 < etang.area < 80e6
    embarque = gpd.read_file(DOSSIER_DEMO / "communes-bassin-thau.geojson").to_crs(2154)
    touchees = set(embarque.loc[shapely.area(shapely.intersection(embarque.geometry.values, etang)) > 1e5,
                                "code_insee"])
    assert touchees == {"34023", "34039", "34108", "34143", "34150", "34157", "34301"}


def test_rien_dans_l_etang_ni_hors_de_sa_commune(demo):
    etang = _etang_l93()
    communes = lire_couche("communes", demo["a"]).to_crs(2154).set_index("code_insee").geometry
    parcelles = lire_couche("parcelles", demo["a"]).to_crs(2154)
    occupation = lire_couche("occupation", demo["a"]).to_crs(2154)
    zones = _magasin(demo["a"]).lire_zones().to_crs(2154)
    operations = _magasin(demo["a"]).lire_operations().set_index("id")
    for table, colonne in ((parcelles, "commune"), (occupation, "code_insee")):
        assert shapely.area(shapely.intersection(table.geometry.values, etang)).max() < 1.0
        hors = shapely.area(shapely.difference(table.geometry.values, communes.loc[table[colonne]].values))
        assert hors.max() < 1.0
    assert shapely.area(shapely.intersection(zones.geometry.values, etang)).max() == 0
    commune_zone = operations.loc[zones["operation_id"], "code_insee"].to_numpy()
    assert shapely.area(shapely.difference(zones.geometry.values, communes.loc[commune_zone].values)).max() < 0.01


def test_operations_reparties_sur_plusieurs_noyaux(demo):
    """Les grandes communes ont plusieurs noyaux urbains et leurs opérations ne sont pas sur un seul disque."""
    table, parametres = lire_communes_demo(), lire_parametres()
    communes = lire_couche("communes", demo["a"]).to_crs(2154).geometry.to_numpy()
    noyaux = placer_noyaux(table, communes, parametres)
    centres = _magasin(demo["a"]).lire_operations().to_crs(2154)
    for code in ("34301", "34003", "34108"):  # Sète, Agde, Frontignan
        rang = int(np.flatnonzero(table["code_insee"] == code)[0])
        siens = noyaux[noyaux["rang_commune"] == rang]
        assert len(siens) >= 3
        points = centres.loc[centres["code_insee"] == code].geometry.centroid
        distances = np.hypot(points.x.to_numpy()[:, None] - siens["x"].to_numpy()[None],
                             points.y.to_numpy()[:, None] - siens["y"].to_numpy()[None])
        assert len(set(distances.argmin(axis=1))) >= 2, code


def test_noyau_hors_commune_refuse(tmp_path, monkeypatch):
    """Un noyau secondaire placé dans l'étang est refusé avec le fichier, la ligne et la correction."""
    table, parametres = lire_communes_demo(), lire_parametres()
    communes = generer_communes(lire_contours_communes(table, parametres), _etang_l93())
    faux = tmp_path / "noyaux.csv"
    faux.write_text("code_insee,lieu,lon,lat,part_population,source\n34301,Au milieu de l'étang,3.62,43.40,0.1,x\n",
                    encoding="utf-8")
    autres = {**parametres, "communes": {**parametres["communes"], "fichier_noyaux_secondaires": str(faux)}}
    with pytest.raises(ErreurDonnees, match="ligne 2.*étang"):
        placer_noyaux(table, communes, autres)


def test_parcelles_format_etalab(demo):
    parcelles = lire_couche("parcelles", demo["a"])
    assert 2_000 <= len(parcelles) <= 6_000
    assert set(parcelles["commune"]) <= set(lire_communes_demo()["code_insee"])
    attendu = (parcelles["commune"] + parcelles["prefixe"] + parcelles["section"].str.zfill(2)
               + parcelles["numero"].str.zfill(4))
    assert (parcelles["id"] == attendu).all()
    assert (parcelles["id"].str.len() == 14).all()
    assert not parcelles["numero"].str.startswith("0").any()
    surfaces = parcelles.to_crs(2154).area
    assert np.allclose(parcelles["contenance"], surfaces, atol=1)


def test_occupation_coherente(demo):
    occupation = lire_couche("occupation", demo["a"])
    parcelles = lire_couche("parcelles", demo["a"])
    assert len(occupation) > len(parcelles)
    assert set(occupation["code_cs"]) <= set(lire_correspondance_ocsge()["code_cs"])
    # l'étang n'est plus dans les communes : pas de polygone d'eau (CS1.2.2) pour lui
    assert {"CS1.1.1.1", "CS1.1.1.2"} <= set(occupation["code_cs"])
    # partition : la surface couverte égale celle des communes, sans recouvrement notable
    communes = lire_couche("communes", demo["a"]).to_crs(2154)
    metrique = occupation.to_crs(2154)
    assert metrique.area.sum() == pytest.approx(communes.area.sum(), rel=1e-3)


def test_objectifs_et_nouvelles_surfaces(demo):
    codes = set(lire_communes_demo()["code_insee"])
    objectifs = lire_couche("objectifs", demo["a"])
    assert set(objectifs["territoire"]) == codes | {"bassin"}
    assert objectifs.groupby("territoire")["annee"].agg(["min", "max"]).eq([2018, 2030]).all().all()
    bassin = objectifs[objectifs["territoire"] == "bassin"].set_index("annee")["surface_m2"]
    assert bassin.is_monotonic_increasing
    assert bassin[2026] == lire_parametres()["tailles"]["petite"]["objectif_bassin_m2"]
    nouvelles = lire_couche("nouvelles_surfaces", demo["a"])
    assert set(nouvelles["code_insee"]) == codes
    assert len(nouvelles) == 25 * 9 and (nouvelles["surface_m2"] > 0).all()


def test_operations(demo):
    magasin = _magasin(demo["a"])
    operations = magasin.lire_operations()
    zones = magasin.lire_zones()
    attendu = lire_parametres()["tailles"]["petite"]["nb_operations"]
    assert len(operations) == attendu == demo["resume"]["operations"]
    assert len(zones) / len(operations) >= 2
    assert zones.groupby("operation_id").size().min() >= 2
    assert set(zones["revetement_avant"]) <= {"enrobe", "beton"}
    assert set(zones["revetement_apres"]) <= set(codes_revetement())
    assert set(operations["type_site"]) <= set(lire_types_site())
    assert (operations["montant_aides_eur"].fillna(0) <= operations["cout_ht_eur"] + 0.01).all()
    realisees = operations[operations["statut"] == "realisee"]
    assert realisees["date_fin_travaux"].notna().all() and len(realisees) > len(operations) / 2
    corriger = operations[operations["validation"] == "a_corriger"]
    assert corriger["commentaire_validation"].str.len().gt(10).all()
    # chaque opération porte sur des parcelles existantes et ses zones sont dedans
    parcelles = lire_couche("parcelles", demo["a"]).set_index("id").to_crs(2154)
    zones_l93 = zones.to_crs(2154)
    for ident, liste in zip(operations["id"], operations["parcelles"]):
        ids = json.loads(liste) if isinstance(liste, str) else list(liste)
        assert 1 <= len(ids) <= 2 and set(ids) <= set(parcelles.index)
        emprise = parcelles.loc[ids].union_all()
        dedans = zones_l93.loc[zones_l93["operation_id"] == ident].geometry
        assert shapely.area(shapely.difference(dedans.values, emprise)).max() < 0.01
    # photos : fichiers présents, chemins relatifs
    photos = magasin.lire_photos()
    assert len(photos) == 2 * lire_parametres()["tailles"]["petite"]["nb_photos"]
    assert all((demo["a"] / chemin).is_file() for chemin in photos["chemin"])


def test_progression(demo):
    fractions = [f for _, f in demo["etapes"]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(libelle, str) and libelle for libelle, _ in demo["etapes"])


def test_meme_graine_memes_donnees(demo):
    for nom in COUCHES_OBLIGATOIRES:
        a, b = lire_couche(nom, demo["a"]), lire_couche(nom, demo["b"])
        if "geometry" in a:
            assert (shapely.to_wkb(a.geometry.values) == shapely.to_wkb(b.geometry.values)).all(), nom
            a, b = a.drop(columns="geometry"), b.drop(columns="geometry")
        pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), obj=nom)
    ops_a = _magasin(demo["a"]).lire_operations()
    ops_b = _magasin(demo["b"]).lire_operations()
    pd.testing.assert_frame_equal(pd.DataFrame(ops_a[COLONNES_OPERATIONS]), pd.DataFrame(ops_b[COLONNES_OPERATIONS]))
    assert (shapely.to_wkb(ops_a.geometry.values) == shapely.to_wkb(ops_b.geometry.values)).all()


def test_autre_graine_autres_parcelles(demo):
    a = lire_couche("parcelles", demo["a"])
    c = lire_couche("parcelles", demo["c"])
    assert len(a) != len(c) or not (shapely.to_wkb(a.geometry.values) == shapely.to_wkb(c.geometry.values)).all()
    # mêmes communes quelle que soit la graine
    assert lire_couche("communes", demo["c"])["code_insee"].tolist() == \
        lire_couche("communes", demo["a"])["code_insee"].tolist()


def test_regeneration_remplace_proprement(demo):
    photo_orpheline = demo["c"] / "photos" / "vieille_photo.jpg"
    photo_orpheline.write_bytes(b"x")
    resume = _generer(demo["c"], 8)
    assert _magasin(demo["c"]).compter()["operation"] == resume["operations"]
    assert not photo_orpheline.exists()


# ------------------------------------------------------------------------------ comptes de démonstration


def test_comptes_demo_un_par_role_et_reinitialisables(demo, tmp_path):
    dossier = tmp_path / "demo"
    shutil.copytree(demo["a"], dossier)
    comptes = creer_comptes_demo(dossier)
    assert sorted(c["role"] for c in comptes) == ["administrateur", "financeur", "referent"]
    referent = next(c for c in comptes if c["role"] == "referent")
    assert referent["communes"] and set(referent["communes"]) <= set(lire_communes_demo()["code_insee"])
    assert referent["noms_communes"] == ["Sète (34301)"]
    magasin = _magasin(dossier)
    for compte in comptes:
        verifier_politique_mot_de_passe(compte["mot_de_passe"], compte["email"])
        utilisateur = authentifier(magasin, compte["email"], compte["mot_de_passe"])
        assert utilisateur.role == compte["role"] and utilisateur.communes == frozenset(compte["communes"])
    assert len({c["mot_de_passe"] for c in comptes}) == 3
    # Annuaire : certains comptes de démonstration y figurent (consentis), pas tous (le financeur n'y est pas).
    annuaire = magasin.lire_fiches_annuaire()
    assert sorted(annuaire["role"]) == ["administrateur", "referent"]
    assert magasin.lire_fiche_annuaire("financeur.demo@desimper.fr") is None
    # seconde fois : mêmes comptes, nouveaux mots de passe ; les anciens ne marchent plus
    nouveaux = creer_comptes_demo(dossier)
    assert [c["email"] for c in nouveaux] == [c["email"] for c in comptes]
    assert len(magasin.lire_utilisateurs()) == 3
    with pytest.raises(ErreurDonnees):
        authentifier(magasin, comptes[0]["email"], comptes[0]["mot_de_passe"])
    assert authentifier(magasin, nouveaux[0]["email"], nouveaux[0]["mot_de_passe"]).role == nouveaux[0]["role"]
    magasin.fermer()


def test_comptes_demo_refuses_sur_un_territoire_reel(demo, tmp_path):
    dossier = tmp_path / "reel"
    shutil.copytree(demo["a"], dossier)
    territoire = lire_territoire(dossier)
    ecrire_territoire({**territoire, "demo": False}, dossier)
    with pytest.raises(ErreurDonnees, match="territoire réel"):
        creer_comptes_demo(dossier)
    magasin = _magasin(dossier)
    assert magasin.lire_utilisateurs().empty
    magasin.fermer()
