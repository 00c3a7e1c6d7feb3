"""Schémas des couches du référentiel, validés au chargement et à l'écriture.

Chaque couche a ses colonnes obligatoires, leurs types, ses identifiants uniques et, pour les couches
géographiques, des géométries non vides, valides, du bon type et en WGS84 (EPSG:4326).
Toute anomalie lève une seule exception, :class:`ErreurDonnees`, dont le message en français nomme la
couche, la colonne et les premières lignes fautives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import pandera.pandas as pa
import shapely

CRS_STOCKAGE = "EPSG:4326"
CRS_CALCUL = "EPSG:2154"
NB_LIGNES_CITEES = 5


class ErreurDonnees(Exception):
    """Données invalides : le message, en français, dit quoi corriger."""

    def __init__(self, message: str, couche: str | None = None, colonne: str | None = None,
                 lignes: list | None = None):
        super().__init__(message)
        self.couche = couche
        self.colonne = colonne
        self.lignes = list(lignes or [])


@dataclass(frozen=True)
class SchemaCouche:
    """Description d'une couche : libellé, schéma pandera, clé unique et géométries admises."""

    nom: str
    libelle: str
    colonnes: pa.DataFrameSchema
    cle: tuple[str, ...]
    geometries: tuple[str, ...] = field(default_factory=tuple)

    @property
    def geographique(self) -> bool:
        return bool(self.geometries)


_POLYGONES = ("Polygon", "MultiPolygon")


def _texte(motif: str | None = None, nullable: bool = False, **kwargs) -> pa.Column:
    checks = [pa.Check.str_matches(motif)] if motif else []
    return pa.Column(str, checks=checks, nullable=nullable, coerce=True, **kwargs)


SCHEMAS: dict[str, SchemaCouche] = {
    "communes": SchemaCouche(
        "communes", "communes",
        pa.DataFrameSchema({
            "code_insee": _texte(r"^\d[\dAB]\d{3}$"),
            "nom": _texte(r"\S"),
            "population": pa.Column("int64", pa.Check.ge(0), coerce=True),
            "source_geometrie": _texte(r"\S"),
        }),
        ("code_insee",), _POLYGONES),
    "communes_affichage": SchemaCouche(
        "communes_affichage", "communes simplifiées pour l'affichage",
        pa.DataFrameSchema({"code_insee": _texte(r"^\d[\dAB]\d{3}$"), "nom": _texte(r"\S")}),
        ("code_insee",), _POLYGONES),
    "parcelles": SchemaCouche(
        "parcelles", "parcelles cadastrales",
        pa.DataFrameSchema({
            "id": _texte(r"^\d[\dAB]\d{3}[0-9A-Z]{3}[0-9A-Z]{2}\d{4}$"),
            "commune": _texte(r"^\d[\dAB]\d{3}$"),
            "prefixe": _texte(r"^[0-9A-Z]{3}$"),
            "section": _texte(r"^[0-9A-Z]{1,2}$"),
            "numero": _texte(r"^\d{1,4}$"),
            "contenance": pa.Column("int64", pa.Check.ge(0), coerce=True),
        }),
        ("id",), _POLYGONES),
    "batiments": SchemaCouche(
        "batiments", "bâtiments (cadastre)",
        pa.DataFrameSchema({
            "id": _texte(r"\S"),
            "commune": _texte(r"^\d[\dAB]\d{3}$"),
            "type": _texte(r"^\d{2}$", nullable=True),
            "nom": _texte(nullable=True),
        }),
        ("id",), _POLYGONES),
    "occupation": SchemaCouche(
        "occupation", "occupation du sol (OCS GE)",
        pa.DataFrameSchema({
            "id": _texte(r"\S"),
            "code_insee": _texte(r"^\d[\dAB]\d{3}$"),
            "code_cs": _texte(r"^CS\d(\.\d)*$"),
            "code_us": _texte(r"^US\d(\.\d)*$", nullable=True),
        }),
        ("id",), _POLYGONES),
    "objectifs": SchemaCouche(
        "objectifs", "objectifs de désimperméabilisation",
        pa.DataFrameSchema({
            "territoire": _texte(r"^(bassin|\d[\dAB]\d{3})$"),
            "annee": pa.Column("int64", pa.Check.in_range(1990, 2100), coerce=True),
            "surface_m2": pa.Column("float64", pa.Check.ge(0), coerce=True),
        }),
        ("territoire", "annee")),
    "nouvelles_surfaces": SchemaCouche(
        "nouvelles_surfaces", "nouvelles surfaces imperméabilisées",
        pa.DataFrameSchema({
            "code_insee": _texte(r"^\d[\dAB]\d{3}$"),
            "annee": pa.Column("int64", pa.Check.in_range(1990, 2100), coerce=True),
            "surface_m2": pa.Column("float64", pa.Check.ge(0), coerce=True),
            "source": _texte(r"\S"),
        }),
        ("code_insee", "annee")),
}


def _lignes(index) -> str:
    valeurs = [str(v) for v in list(index)[:NB_LIGNES_CITEES]]
    suite = " …" if len(index) > NB_LIGNES_CITEES else ""
    return ", ".join(valeurs) + suite


def _erreur(schema: SchemaCouche, colonne: str, index, probleme: str, correction: str) -> ErreurDonnees:
    message = (f"Couche « {schema.libelle} » ({schema.nom}) : colonne « {colonne} », {probleme} "
               f"(lignes {_lignes(index)}). {correction}")
    return ErreurDonnees(message, schema.nom, colonne, list(index)[:NB_LIGNES_CITEES])


def _verifier_geometries(schema: SchemaCouche, table: pd.DataFrame) -> None:
    if not isinstance(table, gpd.GeoDataFrame) or table.geometry.name not in table.columns:
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » ({schema.nom}) : colonne « geometry » absente. "
            "La couche doit être géographique.", schema.nom, "geometry")
    if table.crs is None:
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » ({schema.nom}) : colonne « geometry » sans système de "
            f"coordonnées. Déclarez-le (attendu : {CRS_STOCKAGE}).", schema.nom, "geometry")
    if not table.crs.equals(CRS_STOCKAGE):
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » ({schema.nom}) : colonne « geometry » en {table.crs.to_string()}, "
            f"attendu {CRS_STOCKAGE} (WGS84). Reprojetez la couche.", schema.nom, "geometry")
    geometries = table.geometry.values
    nulles = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    if nulles.any():
        raise _erreur(schema, "geometry", table.index[nulles], "géométries absentes ou vides",
                      "Supprimez ces lignes ou donnez-leur une géométrie.")
    types = shapely.get_type_id(geometries)
    admis = [getattr(shapely.GeometryType, g.upper()).value for g in schema.geometries]
    mauvais = ~pd.Series(types).isin(admis).to_numpy()
    if mauvais.any():
        raise _erreur(schema, "geometry", table.index[mauvais], "géométries d'un type non admis",
                      f"Types attendus : {', '.join(schema.geometries)}.")
    invalides = ~shapely.is_valid(geometries)
    if invalides.any():
        raise _erreur(schema, "geometry", table.index[invalides], "géométries invalides "
                      "(auto-intersection ?)", "Corrigez-les, par exemple avec make_valid.")


def valider_couche(nom: str, table: pd.DataFrame) -> pd.DataFrame:
    """Valide une couche du référentiel et la renvoie avec ses types normalisés.

    Lève :class:`ErreurDonnees` à la première anomalie (colonne manquante, type, valeur hors domaine,
    identifiant en double, géométrie absente, vide, invalide ou hors WGS84).
    """
    if nom not in SCHEMAS:
        raise ErreurDonnees(f"Couche inconnue « {nom} ». Couches connues : {', '.join(SCHEMAS)}.", nom)
    schema = SCHEMAS[nom]
    if table is None or len(table) == 0:
        raise ErreurDonnees(f"Couche « {schema.libelle} » ({nom}) vide : aucune ligne.", nom)
    manquantes = [c for c in schema.colonnes.columns if c not in table.columns]
    if manquantes:
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » ({nom}) : colonne « {manquantes[0]} » manquante "
            f"(colonnes obligatoires : {', '.join(schema.colonnes.columns)}).", nom, manquantes[0])
    try:
        table = schema.colonnes.validate(table, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cas = exc.failure_cases
        colonne = str(cas["column"].iloc[0]) if "column" in cas else "?"
        du_cas = cas[cas["column"] == colonne] if "column" in cas else cas
        index = [i for i in du_cas["index"].tolist() if i is not None and not pd.isna(i)]
        verif = str(du_cas["check"].iloc[0])
        valeurs = ", ".join(repr(v) for v in du_cas["failure_case"].head(3))
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » ({nom}) : colonne « {colonne} », valeurs non conformes "
            f"({verif} ; valeurs {valeurs}) aux lignes {_lignes(index) or '?'}. Corrigez ces valeurs.",
            nom, colonne, index[:NB_LIGNES_CITEES]) from None
    doublons = table.duplicated(list(schema.cle), keep=False)
    if doublons.any():
        raise _erreur(schema, " + ".join(schema.cle), table.index[doublons.to_numpy()],
                      "identifiants en double", "Chaque identifiant doit être unique.")
    if schema.geographique:
        _verifier_geometries(schema, table)
    return table


# Raisons d'invalidité de GEOS (shapely.is_valid_reason) traduites pour les messages.
RAISONS_GEOS = {
    "Ring Self-intersection": "un anneau se recoupe",
    "Self-intersection": "le contour se recoupe (auto-intersection)",
    "Too few points": "trop peu de points",
    "Hole lies outside shell": "un trou est hors du contour",
    "Nested shells": "contours imbriqués",
    "Interior is disconnected": "intérieur coupé en morceaux",
    "Duplicate Rings": "anneaux en double",
    "Invalid Coordinate": "coordonnée invalide",
    "Nested holes": "trous imbriqués",
    "Ring is not closed": "anneau non fermé",
}


def decrire_invalidite(geometrie) -> str:
    """Raison, en français, pour laquelle une géométrie est invalide (d'après GEOS), avec son lieu."""
    raison = shapely.is_valid_reason(geometrie)
    m = re.match(r"^([^\[]+)(\[(.*)\])?", raison)
    if not m:
        return raison
    libelle = RAISONS_GEOS.get(m[1].strip(), m[1].strip())
    if m[3]:
        coords = m[3].split()
        if len(coords) >= 2:
            try:
                libelle += f" vers {float(coords[0]):.6f}, {float(coords[1]):.6f}"
            except ValueError:
                pass
    return libelle
