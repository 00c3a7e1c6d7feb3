"""Tests du magasin des saisies, joués à l'identique sur SQLite et sur PostgreSQL + PostGIS."""

from __future__ import annotations

import threading
from datetime import date, datetime

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from sqlalchemy import delete, text

from donnees.magasin import operations as module_operations
from donnees.magasin import (
    ConflitVersion,
    Magasin,
    OperationIntrouvable,
    table_operation,
    verifier_operation,
)
from donnees.erreurs import ErreurDonnees

# ------------------------------------------------------------------------------------------- outils

_VERS_WGS84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
X0, Y0 = 750_000.0, 6_255_000.0  # Lambert-93, près de Sète


def en_wgs84(geometrie):
    """Reprojette une géométrie Lambert-93 en WGS84."""
    return shapely.transform(geometrie, lambda c: np.column_stack(_VERS_WGS84.transform(c[:, 0], c[:, 1])))


def carre(x=X0, y=Y0, cote=100.0):
    """Carré de ``cote`` mètres construit en Lambert-93, rendu en WGS84."""
    return en_wgs84(box(x, y, x + cote, y + cote))


def operation_type(**modifications):
    """Opération complète et valide ; ``modifications`` remplace des champs."""
    operation = {
        "code_insee": "34301",
        "nom": "Cour de l'école Jules-Ferry",
        "type_site": "cour_ecole",
        "statut": "realisee",
        "validation": "validee",
        "commentaire_validation": None,
        "date_fin_travaux": date(2023, 6, 30),
        "maitre_ouvrage": "Ville de Sète",
        "description": "Cour débitumée, noue plantée.",
        "retour_experience": "Concertation avec les enfants.",
        "contact": "services.techniques@example.org",
        "cout_ht_eur": 120_000.0,
        "arbres_plantes": 4,
        "deconnexion_reseau": True,
        "volume_stockage_m3": 12.5,
        "parcelles": ["34301000AB0123"],
        "surface_declaree_m2": 1500.0,
        "localisation_approximative": False,
        "source": "https://example.org/cour",
        "zones": [
            {"geometrie": carre(), "revetement_avant": "enrobe", "revetement_apres": "pelouse"},
            {"geometrie": carre(X0 + 100, Y0, 50), "revetement_avant": "enrobe", "revetement_apres": "paillage"},
        ],
        "financements": [
            {"financeur": "Agence de l'eau Rhône Méditerranée Corse", "montant_eur": 50_000.0},
            {"financeur": "Région Occitanie", "montant_eur": 20_000.0},
        ],
        "photos": [{"moment": "avant", "chemin": "photos/op_avant.png", "legende": "Avant travaux"}],
    }
    operation.update(modifications)
    return operation


def instantane(m: Magasin) -> dict:
    """État complet du magasin, comparable (géométries en WKB)."""
    etat = {"compte": m.compter(), "operations": {}}
    for i in m.lire_operations(inclure_supprimees=True)["id"]:
        op = m.lire_operation(int(i))
        op["zones"] = [{**z, "geometrie": shapely.to_wkb(z["geometrie"])} for z in op["zones"]]
        etat["operations"][int(i)] = op
    etat["journal"] = len(m.lire_journal())
    return etat


class PanneInjectee(RuntimeError):
    """Panne simulée au milieu d'un enregistrement."""


def tomber_en_panne(*_args, **_kwargs):
    raise PanneInjectee("panne simulée")


# ----------------------------------------------------------------------------------------- fixtures


# ------------------------------------------------------------------------------------ schéma et base


def test_tables_creees_et_vides(magasin):
    magasin.creer_tables()  # idempotent
    assert magasin.compter() == {"operation": 0, "zone": 0, "financement": 0, "photo": 0,
                                 "utilisateur": 0, "journal": 0}
    assert magasin.est_postgresql == (magasin.moteur.dialect.name == "postgresql")


@pytest.mark.parametrize("magasin", ["sqlite"], indirect=True)
def test_sqlite_wal_et_cles_etrangeres_a_chaque_connexion(magasin):
    for _ in range(2):
        with magasin.moteur.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        magasin.moteur.dispose()


def test_sqlite_par_defaut_dans_le_dossier_de_donnees(tmp_path, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path / "donnees"))
    m = Magasin()
    try:
        m.creer_tables()
        assert m.moteur.dialect.name == "sqlite" and not m.est_postgresql
        assert (tmp_path / "donnees" / "desimper.sqlite").exists()
    finally:
        m.fermer()


def test_url_non_prise_en_charge():
    with pytest.raises(ErreurDonnees, match="non prise en charge"):
        Magasin("mysql://u@localhost/base")


@pytest.mark.parametrize("magasin", [pytest.param("postgresql", marks=pytest.mark.postgresql)],
                         indirect=True)
def test_postgis_colonne_srid_et_index(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    with magasin.moteur.connect() as conn:
        colonne = conn.execute(text("SELECT type, srid FROM geometry_columns WHERE f_table_name = 'zone'")).one()
        assert colonne.srid == 4326
        index = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'zone'")).scalars().all()
        assert any("gist" in i.lower() for i in index)
        # Surface calculée par le magasin = surface PostGIS en Lambert-93.
        postgis = conn.execute(text("SELECT ST_Area(ST_Transform(geometrie, 2154)), surface_m2, ST_SRID(geometrie) "
                                    "FROM zone WHERE operation_id = :i ORDER BY id"), {"i": ident}).all()
    for surface_postgis, surface, srid in postgis:
        assert srid == 4326
        assert surface == pytest.approx(surface_postgis, rel=1e-6)


def test_suppression_physique_en_cascade(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    with magasin.moteur.begin() as conn:
        conn.execute(delete(table_operation).where(table_operation.c.id == ident))
    compte = magasin.compter()
    assert compte["zone"] == compte["financement"] == compte["photo"] == 0


# ------------------------------------------------------------------------------------- création, lecture


def test_creer_puis_relire(magasin):
    saisie = operation_type()
    ident = magasin.creer_operation(saisie, "referent@sete.fr")
    op = magasin.lire_operation(ident)
    for champ in ("code_insee", "nom", "type_site", "statut", "validation", "date_fin_travaux", "maitre_ouvrage",
                  "description", "retour_experience", "contact", "cout_ht_eur", "arbres_plantes",
                  "deconnexion_reseau", "volume_stockage_m3", "parcelles", "surface_declaree_m2",
                  "localisation_approximative", "source"):
        assert op[champ] == saisie[champ], champ
    assert isinstance(op["date_fin_travaux"], date)
    assert op["id"] == ident and op["version"] == 1 and op["supprimee"] is False
    assert op["cree_par"] == "referent@sete.fr" and isinstance(op["cree_le"], datetime)
    assert op["modifie_par"] is None
    # Géométries : aller-retour exact.
    assert len(op["zones"]) == 2
    for lue, ecrite in zip(op["zones"], saisie["zones"]):
        assert shapely.equals_exact(lue["geometrie"], ecrite["geometrie"], tolerance=1e-12)
        assert lue["revetement_avant"] == ecrite["revetement_avant"]
        assert lue["revetement_apres"] == ecrite["revetement_apres"]
    assert [f["montant_eur"] for f in op["financements"]] == [50_000.0, 20_000.0]
    assert op["photos"][0]["chemin"] == "photos/op_avant.png"
    assert isinstance(op["photos"][0]["ajoutee_le"], datetime)
    assert op["surface_zones_m2"] == pytest.approx(12_500, rel=5e-3)
    assert op["montant_aides_eur"] == 70_000.0 and op["annee"] == 2023
    assert magasin.compter() == {"operation": 1, "zone": 2, "financement": 2, "photo": 1, "utilisateur": 0,
                                 "journal": 1}


def test_creation_valeurs_par_defaut_et_dates_fournies(magasin):
    saisie = {
        "code_insee": "34157", "nom": "  Parking du stade  ", "type_site": "parking", "statut": "programmee",
        "zones": [{"geometrie": carre(), "revetement_avant": "enrobe", "revetement_apres": "paves_enherbes"}],
        "cree_le": datetime(2021, 3, 4, 10, 0), "cree_par": "import 2021",
    }
    op = magasin.lire_operation(magasin.creer_operation(saisie, "demo"))
    assert op["nom"] == "Parking du stade"
    assert op["validation"] == "a_valider" and op["arbres_plantes"] == 0
    assert op["deconnexion_reseau"] is False and op["localisation_approximative"] is False
    assert op["parcelles"] == [] and op["financements"] == [] and op["photos"] == []
    assert op["cout_ht_eur"] is None and op["date_fin_travaux"] is None and op["annee"] is None
    assert op["cree_le"] == datetime(2021, 3, 4, 10, 0) and op["cree_par"] == "import 2021"


def test_geometrie_multipolygone_avec_trou_et_z_retire(magasin):
    exterieur = box(X0, Y0, X0 + 100, Y0 + 100)
    trou = box(X0 + 25, Y0 + 25, X0 + 75, Y0 + 75)
    multi = en_wgs84(MultiPolygon([Polygon(exterieur.exterior.coords, [trou.exterior.coords]),
                                   box(X0 + 200, Y0, X0 + 300, Y0 + 100)]))
    avec_z = shapely.force_3d(carre(X0 + 500, Y0), 12.0)
    ident = magasin.creer_operation(operation_type(zones=[
        {"geometrie": multi, "revetement_avant": "beton", "revetement_apres": "noue"},
        {"geometrie": avec_z, "revetement_avant": "beton", "revetement_apres": "massif"}]), "test")
    zones = magasin.lire_operation(ident)["zones"]
    assert shapely.equals_exact(zones[0]["geometrie"], multi, tolerance=1e-12)
    assert zones[0]["geometrie"].geom_type == "MultiPolygon"
    assert zones[0]["surface_m2"] == pytest.approx(10_000 - 2_500 + 10_000, rel=5e-3)
    assert not shapely.has_z(zones[1]["geometrie"])


def test_surface_calculee_en_lambert93(magasin):
    # Carré de 100 m × 100 m construit en EPSG:2154 puis reprojeté en EPSG:4326.
    zone = {"geometrie": carre(cote=100.0), "revetement_avant": "enrobe", "revetement_apres": "pelouse",
            "surface_m2": 1.0}  # fournie par l'utilisateur : ignorée
    ident = magasin.creer_operation(operation_type(zones=[zone]), "test")
    surface = magasin.lire_operation(ident)["zones"][0]["surface_m2"]
    assert surface == pytest.approx(10_000.0, rel=5e-3)
    assert magasin.lire_zones()["surface_m2"].iloc[0] == pytest.approx(10_000.0, rel=5e-3)
    # L'aire « en degrés » serait absurde : la surface vient bien de la projection.
    assert carre().area < 1e-3


def test_lire_operations_geodataframe(magasin):
    assert isinstance(vide := magasin.lire_operations(), gpd.GeoDataFrame)
    assert len(vide) == 0 and vide.crs.to_epsg() == 4326
    for colonne in ("id", "surface_zones_m2", "montant_aides_eur", "annee"):
        assert colonne in vide.columns
    premiere = magasin.creer_operation(operation_type(), "test")
    seconde = magasin.creer_operation(operation_type(nom="Parking", type_site="parking", statut="programmee",
                                                     date_fin_travaux="2026-09-01", cout_ht_eur=None,
                                                     financements=[]), "test")
    table = magasin.lire_operations()
    assert isinstance(table, gpd.GeoDataFrame) and table.crs.to_epsg() == 4326
    assert table.geometry.name == "geometry"
    attendues = {"id", "operation_id", "code_insee", "nom", "type_site", "statut", "validation",
                 "commentaire_validation", "date_fin_travaux", "maitre_ouvrage", "description",
                 "retour_experience", "contact", "cout_ht_eur", "arbres_plantes", "deconnexion_reseau",
                 "volume_stockage_m3", "parcelles", "surface_declaree_m2", "localisation_approximative",
                 "source", "cree_par", "cree_le", "modifie_par", "modifie_le", "version", "supprimee",
                 "nb_zones", "surface_zones_m2", "montant_aides_eur", "annee", "geometry"}
    assert attendues <= set(table.columns)
    table = table.set_index("id")
    assert list(table.index) == [premiere, seconde]
    assert table.loc[premiere, "nb_zones"] == 2
    assert table.loc[premiere, "montant_aides_eur"] == 70_000.0
    assert table.loc[seconde, "montant_aides_eur"] == 0.0
    assert list(table["annee"]) == [2023, 2026]
    assert table.loc[premiere, "parcelles"] == ["34301000AB0123"]
    # Géométrie = union des zones : même surface en Lambert-93 que la somme des zones.
    union_l93 = gpd.GeoSeries([table.loc[premiere, "geometry"]], crs=4326).to_crs(2154).area.iloc[0]
    assert union_l93 == pytest.approx(table.loc[premiere, "surface_zones_m2"], rel=1e-3)
    assert table.loc[premiere, "geometry"].geom_type == "Polygon"  # deux zones contiguës fusionnées


def test_lire_zones_geodataframe(magasin):
    vide = magasin.lire_zones()
    assert len(vide) == 0 and vide.crs.to_epsg() == 4326 and "zone_id" in vide.columns
    ident = magasin.creer_operation(operation_type(), "test")
    zones = magasin.lire_zones()
    assert isinstance(zones, gpd.GeoDataFrame) and zones.crs.to_epsg() == 4326
    assert list(zones.columns) == ["zone_id", "operation_id", "revetement_avant", "revetement_apres",
                                   "surface_m2", "code_insee", "type_site", "statut", "validation", "annee",
                                   "nom", "geometry"]
    assert set(zones["operation_id"]) == {ident} and list(zones["annee"]) == [2023, 2023]
    assert zones["surface_m2"].tolist() == pytest.approx([10_000, 2_500], rel=5e-3)
    assert shapely.equals_exact(zones.geometry.iloc[0], carre(), tolerance=1e-12)


def test_lire_financements_photos_journal(magasin):
    a = magasin.creer_operation(operation_type(), "test")
    b = magasin.creer_operation(operation_type(nom="B", photos=[]), "test")
    financements = magasin.lire_financements()
    assert {"financement_id", "operation_id", "financeur", "montant_eur", "code_insee", "annee"} <= set(financements)
    assert len(financements) == 4 and financements["montant_eur"].sum() == 140_000.0
    photos = magasin.lire_photos()
    assert len(photos) == 1 and photos["operation_id"].iloc[0] == a
    assert len(magasin.lire_photos(b)) == 0
    assert len(magasin.lire_journal()) == 2 and len(magasin.lire_journal(b)) == 1


# ------------------------------------------------------------------------------------------ journal


def test_journal_creation(magasin):
    ident = magasin.creer_operation(operation_type(), "referent@sete.fr")
    journal = magasin.lire_journal(ident)
    assert len(journal) == 1
    ligne = journal.iloc[0]
    assert ligne["action"] == "creation" and ligne["auteur"] == "referent@sete.fr"
    assert ligne["table_cible"] == "operation" and ligne["enregistrement_id"] == ident
    assert isinstance(ligne["horodatage"], datetime)
    diff = ligne["diff"]
    assert diff["nom"] == "Cour de l'école Jules-Ferry" and diff["date_fin_travaux"] == "2023-06-30"
    assert diff["parcelles"] == ["34301000AB0123"] and diff["cree_par"] == "referent@sete.fr"
    assert [z["revetement_apres"] for z in diff["zones"]] == ["pelouse", "paillage"]
    assert diff["zones"][0]["surface_m2"] == pytest.approx(10_000, rel=5e-3)
    assert diff["zones"][0]["geometrie"].startswith("POLYGON")
    assert diff["financements"][1] == {"financeur": "Région Occitanie", "montant_eur": 20_000.0}


def test_modifier_champs_et_financements(magasin):
    ident = magasin.creer_operation(operation_type(), "referent@sete.fr")
    version = magasin.modifier_operation(ident, 1, {
        "nom": "Cour Jules-Ferry (tranche 1)",
        "financements": [{"financeur": "Agence de l'eau Rhône Méditerranée Corse", "montant_eur": 60_000.0}],
    }, "admin@bassin.fr")
    assert version == 2
    op = magasin.lire_operation(ident)
    assert op["version"] == 2 and op["nom"] == "Cour Jules-Ferry (tranche 1)"
    assert op["modifie_par"] == "admin@bassin.fr" and isinstance(op["modifie_le"], datetime)
    assert [f["montant_eur"] for f in op["financements"]] == [60_000.0]
    assert len(op["zones"]) == 2 and len(op["photos"]) == 1  # non fournis : inchangés
    journal = magasin.lire_journal(ident)
    assert list(journal["action"]) == ["creation", "modification"]
    derniere = journal.iloc[-1]
    assert derniere["auteur"] == "admin@bassin.fr"
    assert set(derniere["diff"]) == {"nom", "financements"}
    assert derniere["diff"]["nom"] == ["Cour de l'école Jules-Ferry", "Cour Jules-Ferry (tranche 1)"]
    avant, apres = derniere["diff"]["financements"]
    assert len(avant) == 2 and apres == [{"financeur": "Agence de l'eau Rhône Méditerranée Corse",
                                          "montant_eur": 60_000.0}]
    assert magasin.compter()["financement"] == 1


def test_modifier_zones_remplace_et_recalcule(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    version = magasin.modifier_operation(ident, 1, {"zones": [
        {"geometrie": carre(cote=200.0), "revetement_avant": "beton", "revetement_apres": "arbres"}]}, "test")
    op = magasin.lire_operation(ident)
    assert version == 2 and len(op["zones"]) == 1
    assert op["zones"][0]["surface_m2"] == pytest.approx(40_000, rel=5e-3)
    assert magasin.compter()["zone"] == 1
    diff = magasin.lire_journal(ident).iloc[-1]["diff"]
    assert set(diff) == {"zones"}
    assert len(diff["zones"][0]) == 2 and diff["zones"][1][0]["revetement_apres"] == "arbres"


def test_modifier_avec_le_dictionnaire_relu(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    op = magasin.lire_operation(ident)
    op["statut"] = "realisee"
    op["arbres_plantes"] = 7
    version = magasin.modifier_operation(ident, op["version"], op, "test")
    assert version == 2
    assert set(magasin.lire_journal(ident).iloc[-1]["diff"]) == {"arbres_plantes"}
    zones = magasin.lire_zones()
    assert set(zones["zone_id"]) == {z["zone_id"] for z in op["zones"]}  # zones inchangées : non réécrites


def test_modifier_sans_changement_n_ecrit_rien(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    assert magasin.modifier_operation(ident, 1, {"nom": "Cour de l'école Jules-Ferry"}, "test") == 1
    assert magasin.lire_operation(ident)["version"] == 1
    assert len(magasin.lire_journal()) == 1


def test_validation_journalisee_comme_telle(magasin):
    ident = magasin.creer_operation(operation_type(validation="a_valider"), "referent@sete.fr")
    v2 = magasin.modifier_operation(ident, 1, {"validation": "a_corriger",
                                               "commentaire_validation": "Photo après manquante."}, "admin")
    v3 = magasin.modifier_operation(ident, v2, {"validation": "validee"}, "admin")
    assert (v2, v3) == (2, 3)
    journal = magasin.lire_journal(ident)
    assert list(journal["action"]) == ["creation", "validation", "validation"]
    assert journal.iloc[1]["diff"]["validation"] == ["a_valider", "a_corriger"]


def test_champ_non_modifiable(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    with pytest.raises(ErreurDonnees, match="non modifiable"):
        magasin.modifier_operation(ident, 1, {"cree_par": "quelqu'un d'autre"}, "test")
    with pytest.raises(ErreurDonnees, match="champ inconnu"):
        magasin.modifier_operation(ident, 1, {"nom_du_site": "x"}, "test")
    assert magasin.lire_operation(ident)["version"] == 1


# ------------------------------------------------------------------------------ verrouillage optimiste


def test_conflit_de_version(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    autre = Magasin(magasin.url)  # un second utilisateur, avec sa propre connexion
    try:
        assert autre.modifier_operation(ident, 1, {"nom": "Par l'autre"}, "autre") == 2
    finally:
        autre.fermer()
    with pytest.raises(ConflitVersion) as erreur:
        magasin.modifier_operation(ident, 1, {"nom": "Par moi"}, "moi")
    message = str(erreur.value)
    assert f"L'opération n° {ident} a été modifiée par quelqu'un d'autre" in message
    assert "(version 2, vous aviez la 1)" in message and "Rechargez-la" in message
    assert erreur.value.version_actuelle == 2 and erreur.value.version_attendue == 1
    assert isinstance(erreur.value, ErreurDonnees)
    op = magasin.lire_operation(ident)
    assert op["nom"] == "Par l'autre" and op["version"] == 2
    assert len(magasin.lire_journal(ident)) == 2


def test_conflit_detecte_par_la_mise_a_jour_conditionnelle(magasin, monkeypatch):
    """Écriture concurrente entre la lecture et l'UPDATE : c'est le WHERE version = ? qui tranche."""
    ident = magasin.creer_operation(operation_type(), "test")
    magasin.modifier_operation(ident, 1, {"nom": "Version 2"}, "autre")
    charger = magasin._charger

    def charger_perime(conn, operation_id):
        operation = charger(conn, operation_id)
        operation["version"] = 1  # ce que la page avait lu avant l'écriture concurrente
        return operation

    avant = instantane(magasin)
    monkeypatch.setattr(magasin, "_charger", charger_perime)
    with pytest.raises(ConflitVersion, match=r"version 2, vous aviez la 1"):
        magasin.modifier_operation(ident, 1, {"nom": "Version perdue"}, "moi")
    monkeypatch.undo()
    assert instantane(magasin) == avant


def test_ecritures_concurrentes_sans_mise_a_jour_perdue(magasin):
    """Quatre fils modifient la même opération : chaque succès fait +1 version et +1 ligne de journal."""
    ident = magasin.creer_operation(operation_type(), "test")
    reussites, conflits, erreurs = [], [], []

    def travailler(numero):
        m = Magasin(magasin.url)
        try:
            for k in range(8):
                version = m.lire_operation(ident)["version"]
                try:
                    m.modifier_operation(ident, version, {"arbres_plantes": 100 * numero + k}, f"fil {numero}")
                    reussites.append(numero)
                except ConflitVersion:
                    conflits.append(numero)
        except Exception as exc:  # noqa: BLE001 - remonté par l'assertion
            erreurs.append(exc)
        finally:
            m.fermer()

    fils = [threading.Thread(target=travailler, args=(n,)) for n in range(4)]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert not erreurs
    assert len(reussites) + len(conflits) == 32 and reussites
    assert magasin.lire_operation(ident)["version"] == 1 + len(reussites)
    assert len(magasin.lire_journal(ident)) == 1 + len(reussites)


def test_suppression_avec_version_perimee(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    magasin.modifier_operation(ident, 1, {"nom": "v2"}, "test")
    with pytest.raises(ConflitVersion):
        magasin.supprimer_operation(ident, 1, "test")
    assert magasin.lire_operation(ident)["supprimee"] is False


# ------------------------------------------------------------------------ suppression et restauration


def test_suppression_logique_et_restauration(magasin):
    garde = magasin.creer_operation(operation_type(nom="Gardée"), "test")
    ident = magasin.creer_operation(operation_type(), "test")
    assert magasin.supprimer_operation(ident, 1, "admin") == 2
    op = magasin.lire_operation(ident)
    assert op["supprimee"] is True and op["version"] == 2 and op["modifie_par"] == "admin"
    assert list(magasin.lire_operations()["id"]) == [garde]
    assert set(magasin.lire_operations(inclure_supprimees=True)["id"]) == {garde, ident}
    assert set(magasin.lire_zones()["operation_id"]) == {garde}
    assert len(magasin.lire_zones(inclure_supprimees=True)) == 4
    assert set(magasin.lire_financements()["operation_id"]) == {garde}
    assert len(magasin.lire_photos()) == 1 and len(magasin.lire_photos(ident)) == 1
    assert magasin.compter()["zone"] == 4  # rien n'est perdu

    with pytest.raises(ErreurDonnees, match="déjà supprimée"):
        magasin.supprimer_operation(ident, 2, "admin")
    with pytest.raises(ErreurDonnees, match="supprimée"):
        magasin.modifier_operation(ident, 2, {"nom": "x"}, "admin")
    with pytest.raises(ErreurDonnees, match="n'est pas supprimée"):
        magasin.restaurer_operation(garde, "admin")

    assert magasin.restaurer_operation(ident, "admin") == 3
    assert magasin.lire_operation(ident)["supprimee"] is False
    assert set(magasin.lire_operations()["id"]) == {garde, ident}
    journal = magasin.lire_journal(ident)
    assert list(journal["action"]) == ["creation", "suppression", "restauration"]
    assert journal.iloc[1]["diff"] == {"supprimee": [False, True]}
    assert journal.iloc[2]["diff"] == {"supprimee": [True, False]}


def test_operation_introuvable(magasin):
    with pytest.raises(OperationIntrouvable, match="n° 42 n'existe pas"):
        magasin.lire_operation(42)
    with pytest.raises(OperationIntrouvable):
        magasin.modifier_operation(42, 1, {"nom": "x"}, "test")
    with pytest.raises(OperationIntrouvable):
        magasin.supprimer_operation(42, 1, "test")
    with pytest.raises(OperationIntrouvable):
        magasin.restaurer_operation(42, "test")


# ------------------------------------------------------------------------------- pannes et transactions


@pytest.mark.parametrize("etape", ["_inserer_zones", "_inserer_financements", "_inserer_photos",
                                   "_inserer_journal"])
def test_panne_a_la_creation_ne_laisse_rien(magasin, monkeypatch, etape):
    magasin.creer_operation(operation_type(nom="Existante"), "test")
    avant = instantane(magasin)
    monkeypatch.setattr(magasin, etape, tomber_en_panne)
    with pytest.raises(PanneInjectee):
        magasin.creer_operation(operation_type(), "test")
    monkeypatch.undo()
    assert instantane(magasin) == avant  # ni opération, ni zone orpheline, ni journal
    # Le magasin reste utilisable après l'annulation.
    assert magasin.creer_operation(operation_type(), "test") > 0


@pytest.mark.parametrize("etape", ["_inserer_zones", "_inserer_financements", "_inserer_photos",
                                   "_inserer_journal"])
def test_panne_a_la_modification_ne_change_rien(magasin, monkeypatch, etape):
    ident = magasin.creer_operation(operation_type(), "test")
    avant = instantane(magasin)
    monkeypatch.setattr(magasin, etape, tomber_en_panne)
    with pytest.raises(PanneInjectee):
        magasin.modifier_operation(ident, 1, {
            "nom": "Nouveau nom",
            "zones": [{"geometrie": carre(cote=30.0), "revetement_avant": "beton", "revetement_apres": "noue"}],
            "financements": [{"financeur": "Département", "montant_eur": 1_000.0}],
            "photos": [{"moment": "apres", "chemin": "photos/op_apres.png"}],
        }, "test")
    monkeypatch.undo()
    assert instantane(magasin) == avant
    assert magasin.modifier_operation(ident, 1, {"nom": "Nouveau nom"}, "test") == 2


def test_panne_a_la_suppression_ne_change_rien(magasin, monkeypatch):
    ident = magasin.creer_operation(operation_type(), "test")
    avant = instantane(magasin)
    monkeypatch.setattr(magasin, "_inserer_journal", tomber_en_panne)
    with pytest.raises(PanneInjectee):
        magasin.supprimer_operation(ident, 1, "test")
    monkeypatch.undo()
    assert instantane(magasin) == avant


def test_panne_pendant_un_import_ne_laisse_rien(magasin, monkeypatch):
    lot = [operation_type(nom=f"Op {i}") for i in range(30)]
    journal = magasin._inserer_journal
    appels = []

    def journal_puis_panne(conn, lignes):
        appels.append(len(lignes))
        if len(appels) == 2:
            raise PanneInjectee("panne au second paquet")
        journal(conn, lignes)

    monkeypatch.setattr(module_operations, "TAILLE_PAQUET_IMPORT", 10)
    monkeypatch.setattr(magasin, "_inserer_journal", journal_puis_panne)
    with pytest.raises(PanneInjectee):
        magasin.importer_lot(lot, "demo")
    assert appels == [10, 10]
    assert magasin.compter() == dict.fromkeys(magasin.compter(), 0)


# ------------------------------------------------------------------------------------------ validation


def _geometrie_lambert93():
    return box(X0, Y0, X0 + 10, Y0 + 10)


def _zone(geometrie=None, **autres):
    return [{"geometrie": geometrie if geometrie is not None else carre(), "revetement_avant": "enrobe",
             "revetement_apres": "pelouse", **autres}]


CAS_INVALIDES = [
    ("code INSEE absent", {"code_insee": None}, "code_insee"),
    ("code INSEE à 4 caractères", {"code_insee": "3430"}, "code_insee"),
    ("code INSEE numérique", {"code_insee": 34301}, "code_insee"),
    ("nom vide", {"nom": "   "}, "nom"),
    ("type de site inconnu", {"type_site": "piscine"}, "type_site"),
    ("statut inconnu", {"statut": "terminee"}, "statut"),
    ("statut absent", {"statut": None}, "statut"),
    ("validation inconnue", {"validation": "ok"}, "validation"),
    ("réalisée sans date", {"statut": "realisee", "date_fin_travaux": None}, "date_fin_travaux"),
    ("date illisible", {"date_fin_travaux": "30/06/2023"}, "date_fin_travaux"),
    ("à corriger sans commentaire", {"validation": "a_corriger", "commentaire_validation": ""},
     "commentaire_validation"),
    ("coût négatif", {"cout_ht_eur": -1.0, "financements": []}, "cout_ht_eur"),
    ("coût en texte", {"cout_ht_eur": "120000"}, "cout_ht_eur"),
    ("arbres négatifs", {"arbres_plantes": -1}, "arbres_plantes"),
    ("arbres non entiers", {"arbres_plantes": 2.5}, "arbres_plantes"),
    ("volume négatif", {"volume_stockage_m3": -3}, "volume_stockage_m3"),
    ("surface déclarée négative", {"surface_declaree_m2": -10}, "surface_declaree_m2"),
    ("booléen illisible", {"deconnexion_reseau": "oui"}, "deconnexion_reseau"),
    ("parcelle mal formée", {"parcelles": ["34301AB123"]}, "parcelles"),
    ("parcelles en texte", {"parcelles": "34301000AB0123"}, "parcelles"),
    ("aucune zone", {"zones": []}, "zones"),
    ("zones absentes", {"zones": None}, "zones"),
    ("zone ponctuelle", {"zones": _zone(Point(3.69, 43.40))}, "geometrie"),
    ("zone linéaire", {"zones": _zone(LineString([(3.69, 43.40), (3.70, 43.41)]))}, "geometrie"),
    ("zone vide", {"zones": _zone(Polygon())}, "geometrie"),
    ("zone invalide (nœud papillon)",
     {"zones": _zone(Polygon([(3.69, 43.40), (3.70, 43.41), (3.70, 43.40), (3.69, 43.41)]))}, "geometrie"),
    ("zone en Lambert-93", {"zones": _zone(_geometrie_lambert93())}, "geometrie"),
    ("zone sans géométrie", {"zones": [{"revetement_avant": "enrobe", "revetement_apres": "pelouse"}]},
     "geometrie"),
    ("revêtement inconnu", {"zones": [{"geometrie": carre(), "revetement_avant": "goudron",
                                       "revetement_apres": "pelouse"}]}, "revetement_avant"),
    ("revêtement après absent", {"zones": [{"geometrie": carre(), "revetement_avant": "enrobe"}]},
     "revetement_apres"),
    ("clé de zone inconnue", {"zones": _zone(revetement="x")}, "revetement"),
    ("financements supérieurs au coût", {"cout_ht_eur": 60_000.0}, "financements"),
    ("montant négatif", {"financements": [{"financeur": "Région", "montant_eur": -5.0}]}, "montant_eur"),
    ("financeur absent", {"financements": [{"montant_eur": 5.0}]}, "financeur"),
    ("moment de photo inconnu", {"photos": [{"moment": "pendant", "chemin": "photos/a.png"}]}, "moment"),
    ("chemin de photo absolu", {"photos": [{"moment": "avant", "chemin": "/etc/passwd"}]}, "chemin"),
    ("chemin de photo remontant", {"photos": [{"moment": "avant", "chemin": "../secret.png"}]}, "chemin"),
    ("champ inconnu", {"typo_site": "parking"}, "typo_site"),
]


@pytest.mark.parametrize(("cas", "modifications", "champ"), CAS_INVALIDES, ids=[c[0] for c in CAS_INVALIDES])
def test_saisie_invalide_refusee_sans_rien_ecrire(magasin, cas, modifications, champ):
    with pytest.raises(ErreurDonnees) as erreur:
        magasin.creer_operation(operation_type(**modifications), "test")
    assert erreur.value.colonne == champ
    message = str(erreur.value)
    assert f"({champ})" in message and message.startswith("Opération")
    assert magasin.compter() == dict.fromkeys(magasin.compter(), 0)


def test_messages_explicites():
    with pytest.raises(ErreurDonnees, match=r"obligatoire quand le statut est « Réalisée »"):
        verifier_operation(operation_type(date_fin_travaux=None))
    with pytest.raises(ErreurDonnees, match="dépasse le coût HT \\(60[ \u202f]000[ \u202f]€\\)"):
        verifier_operation(operation_type(cout_ht_eur=60_000.0))
    with pytest.raises(ErreurDonnees, match=r"zone n° 1.*pas un point ni une ligne"):
        verifier_operation(operation_type(zones=_zone(Point(3.69, 43.40))))
    with pytest.raises(ErreurDonnees, match="Lambert-93"):
        verifier_operation(operation_type(zones=_zone(_geometrie_lambert93())))


def test_saisies_acceptees():
    # Coût inconnu : pas de plafond ; financements égaux au coût : admis ; GeoJSON accepté.
    verifier_operation(operation_type(cout_ht_eur=None))
    verifier_operation(operation_type(cout_ht_eur=70_000.0))
    propre = verifier_operation(operation_type(zones=_zone(shapely.geometry.mapping(carre())),
                                               date_fin_travaux="2023-06-30", arbres_plantes=3.0,
                                               parcelles=["34301000ab0123", "34301000AB0123"],
                                               code_insee="2A004"))
    assert propre["date_fin_travaux"] == date(2023, 6, 30) and propre["arbres_plantes"] == 3
    assert propre["parcelles"] == ["34301000AB0123"]
    assert propre["zones"][0]["geometrie"].geom_type == "Polygon"


def test_modification_invalide_refusee_sans_rien_ecrire(magasin):
    ident = magasin.creer_operation(operation_type(), "test")
    avant = instantane(magasin)
    with pytest.raises(ErreurDonnees, match="date de fin des travaux"):
        magasin.modifier_operation(ident, 1, {"date_fin_travaux": None}, "test")
    with pytest.raises(ErreurDonnees, match="dépasse le coût HT"):
        magasin.modifier_operation(ident, 1, {"cout_ht_eur": 10_000.0}, "test")
    with pytest.raises(ErreurDonnees, match="au moins une zone"):
        magasin.modifier_operation(ident, 1, {"zones": []}, "test")
    assert instantane(magasin) == avant


def test_auteur_obligatoire(magasin):
    with pytest.raises(ErreurDonnees, match="Auteur"):
        magasin.creer_operation(operation_type(), "  ")
    assert magasin.compter()["operation"] == 0


# -------------------------------------------------------------------------------------- import en lot


def test_importer_lot(magasin):
    lot = [operation_type(nom=f"Op {i}", photos=[], zones=[
        {"geometrie": carre(X0 + 300 * i, Y0 + 120 * j, 100), "revetement_avant": "enrobe",
         "revetement_apres": "pelouse"} for j in range(3)]) for i in range(40)]
    etapes = []
    ids = magasin.importer_lot(lot, "demo", progression=lambda faites, total: etapes.append((faites, total)))
    assert len(ids) == 40 and ids == sorted(ids) and len(set(ids)) == 40
    assert etapes[-1] == (40, 40) and all(t == 40 for _, t in etapes)
    assert [f for f, _ in etapes] == sorted(f for f, _ in etapes)
    assert magasin.compter() == {"operation": 40, "zone": 120, "financement": 80, "photo": 0,
                                 "utilisateur": 0, "journal": 40}
    assert magasin.lire_operation(ids[7])["nom"] == "Op 7"
    journal = magasin.lire_journal()
    assert set(journal["action"]) == {"creation"} and sorted(journal["enregistrement_id"]) == ids
    assert magasin.importer_lot([], "demo") == []


def test_importer_lot_invalide_n_ecrit_rien(magasin):
    lot = [operation_type(nom=f"Op {i}") for i in range(10)]
    lot[6] = operation_type(nom="Op fautive", statut="achevee")
    with pytest.raises(ErreurDonnees, match=r"Opération n° 7 du lot \(« Op fautive »\), champ « statut »"):
        magasin.importer_lot(lot, "demo")
    assert magasin.compter() == dict.fromkeys(magasin.compter(), 0)


def test_importer_1000_operations_en_masse(magasin):
    lot = [operation_type(nom=f"Op {i}", photos=[], zones=[
        {"geometrie": carre(X0 + 300 * (i % 40), Y0 + 400 * (i // 40) + 120 * j, 100),
         "revetement_avant": "enrobe", "revetement_apres": "pelouse"} for j in range(3)])
        for i in range(1000)]
    ids = magasin.importer_lot(lot, "demo")
    assert len(ids) == 1000
    zones = magasin.lire_zones()
    assert len(zones) == 3000
    assert zones["surface_m2"].sum() == pytest.approx(3000 * 10_000, rel=5e-3)
    assert len(magasin.lire_operations()) == 1000


# ------------------------------------------------------------------------------------------ utilisateurs


def test_utilisateurs(magasin):
    ident = magasin.creer_utilisateur(" Referent@Sete.FR ", "Camille Martin", "referent", "34301, 34157",
                                      "$argon2id$empreinte", actif=True)
    magasin.creer_utilisateur("admin@bassin.fr", "Admin", "administrateur", [], None)
    table = magasin.lire_utilisateurs()
    assert list(table["email"]) == ["referent@sete.fr", "admin@bassin.fr"]
    assert "mot_de_passe_hash" not in table.columns
    assert table["communes"].iloc[0] == ["34301", "34157"]
    compte = magasin.lire_utilisateur("REFERENT@sete.fr")
    assert compte["id"] == ident and compte["mot_de_passe_hash"] == "$argon2id$empreinte"
    assert compte["role"] == "referent" and compte["actif"] is True and compte["echecs_connexion"] == 0
    assert compte["bloque_jusqua"] is None and compte["derniere_connexion"] is None
    assert magasin.lire_utilisateur("inconnu@x.fr") is None
    journal = magasin.lire_journal()
    assert list(journal["table_cible"]) == ["utilisateur", "utilisateur"]
    assert "mot_de_passe_hash" not in journal.iloc[0]["diff"]
    assert magasin.lire_journal(ident).empty  # filtre sur les opérations seulement


@pytest.mark.parametrize(("arguments", "motif"), [
    (("referent@sete.fr", "Doublon", "financeur", "", "h"), "existe déjà"),
    (("pas-une-adresse", "X", "financeur", "", "h"), "adresse"),
    (("x@y.fr", "X", "maire", "", "h"), "rôle"),
    (("x@y.fr", "X", "referent", "", "h"), "au moins une commune"),
    (("x@y.fr", "X", "referent", "3430", "h"), "code INSEE"),
    (("x@y.fr", "", "financeur", "", "h"), "nom"),
])
def test_utilisateur_invalide(magasin, arguments, motif):
    magasin.creer_utilisateur("referent@sete.fr", "Camille", "referent", ["34301"], "h")
    with pytest.raises(ErreurDonnees, match=motif):
        magasin.creer_utilisateur(*arguments)
    assert magasin.compter()["utilisateur"] == 1 and magasin.compter()["journal"] == 1

# Couches sans interface (streamlit, folium, plotly) : tests/test_architecture.py.
