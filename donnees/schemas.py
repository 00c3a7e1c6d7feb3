"""Schémas des couches du référentiel, validés au chargement et à l'écriture.

Chaque couche a ses colonnes obligatoires, leurs types, ses identifiants uniques et, pour les couches
géographiques, des géométries non vides, valides, du bon type et en WGS84 (EPSG:4326).
Toute anomalie lève une seule exception, :class:`ErreurDonnees`, dont le message en français nomme la
couche, la colonne et les premières lignes fautives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import pandera.pandas as pa
import shapely

from donnees.cadastre import (
    MOTIF_TEXTE_CODE_INSEE,
    MOTIF_TEXTE_ID_PARCELLE,
    MOTIF_TEXTE_NUMERO,
    MOTIF_TEXTE_PREFIXE,
    MOTIF_TEXTE_SECTION,
)
from donnees.erreurs import RAISONS_GEOS, ErreurDonnees, decrire_invalidite  # noqa: F401
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE  # noqa: F401

# Réexports : CRS_*, ErreurDonnees, RAISONS_GEOS et decrire_invalidite s'importent aussi d'ici.

NB_LIGNES_CITEES = 5


@dataclass(frozen=True)
class SchemaCouche:
    """Description d'une couche : libellé, schéma pandera, clé unique et géométries admises."""

    nom: str
    libelle: str
    colonnes: pa.DataFrameSchema
    cle: tuple[str, ...]
    geometries: tuple[str, ...] = field(default_factory=tuple)
    vide_admise: bool = False  # couche de critère : vide = rien de recensé sur le territoire, pas une erreur

    @property
    def geographique(self) -> bool:
        return bool(self.geometries)


_POLYGONES = ("Polygon", "MultiPolygon")
_POINTS_OU_POLYGONES = ("Point", "MultiPoint", "Polygon", "MultiPolygon")

# Couches de critères du potentiel (issue 15) : colonne de classe et classes admises, comme les attend
# indicateurs.potentiel.croiser_criteres (CLASSES_COUCHES) ; les cavités n'ont pas de classe.
CLASSES_CRITERES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sol": ("groupe", ("A", "B", "C", "D")),
    "nappe": ("classe", ("debordement", "cave", "aucun")),
    "captages": ("perimetre", ("immediat", "rapproche", "eloigne")),
    "sites_pollues": ("type", ("SIS", "CASIAS")),
}
COUCHES_CRITERES_IMPORTABLES = ("sol", "nappe", "sites_pollues", "captages", "cavites")


def _texte(motif: str | None = None, nullable: bool = False, **kwargs) -> pa.Column:
    checks = [pa.Check.str_matches(motif)] if motif else []
    return pa.Column(str, checks=checks, nullable=nullable, coerce=True, **kwargs)


SCHEMAS: dict[str, SchemaCouche] = {
    "communes": SchemaCouche(
        "communes", "communes",
        pa.DataFrameSchema({
            "code_insee": _texte(MOTIF_TEXTE_CODE_INSEE),
            "nom": _texte(r"\S"),
            "population": pa.Column("int64", pa.Check.ge(0), coerce=True),
            "source_geometrie": _texte(r"\S"),
        }),
        ("code_insee",), _POLYGONES),
    "communes_affichage": SchemaCouche(
        "communes_affichage", "communes simplifiées pour l'affichage",
        pa.DataFrameSchema({"code_insee": _texte(MOTIF_TEXTE_CODE_INSEE), "nom": _texte(r"\S")}),
        ("code_insee",), _POLYGONES),
    "parcelles": SchemaCouche(
        "parcelles", "parcelles cadastrales",
        pa.DataFrameSchema({
            "id": _texte(MOTIF_TEXTE_ID_PARCELLE),
            "commune": _texte(MOTIF_TEXTE_CODE_INSEE),
            "prefixe": _texte(MOTIF_TEXTE_PREFIXE),
            "section": _texte(MOTIF_TEXTE_SECTION),
            "numero": _texte(MOTIF_TEXTE_NUMERO),
            "contenance": pa.Column("int64", pa.Check.ge(0), coerce=True),
        }),
        ("id",), _POLYGONES),
    "batiments": SchemaCouche(
        "batiments", "bâtiments (cadastre)",
        pa.DataFrameSchema({
            "id": _texte(r"\S"),
            "commune": _texte(MOTIF_TEXTE_CODE_INSEE),
            "type": _texte(r"^\d{2}$", nullable=True),
            "nom": _texte(nullable=True),
        }),
        ("id",), _POLYGONES),
    "occupation": SchemaCouche(
        "occupation", "occupation du sol (OCS GE)",
        pa.DataFrameSchema({
            "id": _texte(r"\S"),
            "code_insee": _texte(MOTIF_TEXTE_CODE_INSEE),
            "code_cs": _texte(r"^CS\d(\.\d)*$"),
            "code_us": _texte(r"^US\d(\.\d)*$", nullable=True),
        }),
        ("id",), _POLYGONES),
    "objectifs": SchemaCouche(
        "objectifs", "objectifs de désimperméabilisation",
        pa.DataFrameSchema({
            "territoire": _texte(r"^(bassin|" + MOTIF_TEXTE_CODE_INSEE[1:-1] + ")$"),
            "annee": pa.Column("int64", pa.Check.in_range(1990, 2100), coerce=True),
            "surface_m2": pa.Column("float64", pa.Check.ge(0), coerce=True),
        }),
        ("territoire", "annee")),
    "nouvelles_surfaces": SchemaCouche(
        "nouvelles_surfaces", "nouvelles surfaces imperméabilisées",
        pa.DataFrameSchema({
            "code_insee": _texte(MOTIF_TEXTE_CODE_INSEE),
            "annee": pa.Column("int64", pa.Check.in_range(1990, 2100), coerce=True),
            "surface_m2": pa.Column("float64", pa.Check.ge(0), coerce=True),
            "source": _texte(r"\S"),
        }),
        ("code_insee", "annee")),
}


def _schema_critere(couche: str, libelle: str, geometries: tuple[str, ...], **colonnes: pa.Column) -> SchemaCouche:
    """Schéma d'une couche de critère : id, code_insee, classe éventuelle, colonnes en plus ; vide admise."""
    definition = {"id": _texte(r"\S"), "code_insee": _texte(MOTIF_TEXTE_CODE_INSEE)}
    if couche in CLASSES_CRITERES:
        colonne, classes = CLASSES_CRITERES[couche]
        definition[colonne] = pa.Column(str, pa.Check.isin(list(classes)), coerce=True)
    definition.update(colonnes)
    return SchemaCouche(couche, libelle, pa.DataFrameSchema(definition), ("id",), geometries, vide_admise=True)


SCHEMAS.update({
    "sol": _schema_critere("sol", "groupes hydrologiques des sols", _POLYGONES),
    "nappe": _schema_critere("nappe", "remontées de nappe", _POLYGONES),
    "sites_pollues": _schema_critere("sites_pollues", "sites et sols pollués (SIS, CASIAS)", _POINTS_OU_POLYGONES,
                                     nom=_texte(nullable=True)),
    "captages": _schema_critere("captages", "périmètres de protection des captages", _POLYGONES),
    "cavites": _schema_critere("cavites", "cavités souterraines", _POINTS_OU_POLYGONES,
                               nature=_texte(nullable=True)),
})


def table_vide(nom: str) -> pd.DataFrame:
    """Table vide aux colonnes et types du schéma de la couche (GeoDataFrame WGS84 si géographique)."""
    schema = SCHEMAS[nom]
    colonnes = {colonne: pd.Series(dtype=str(definition.dtype) if definition.dtype else object)
                for colonne, definition in schema.colonnes.columns.items()}
    if schema.geographique:
        return gpd.GeoDataFrame(colonnes, geometry=gpd.GeoSeries([], crs=CRS_STOCKAGE), crs=CRS_STOCKAGE)
    return pd.DataFrame(colonnes)


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


def _verifier_colonnes(schema: SchemaCouche, table: pd.DataFrame) -> None:
    manquantes = [c for c in schema.colonnes.columns if c not in table.columns]
    if manquantes:
        raise ErreurDonnees(
            f"Couche « {schema.libelle} » ({schema.nom}) : colonne « {manquantes[0]} » manquante "
            f"(colonnes obligatoires : {', '.join(schema.colonnes.columns)}).", schema.nom, manquantes[0])


def valider_couche(nom: str, table: pd.DataFrame) -> pd.DataFrame:
    """Valide une couche du référentiel et la renvoie avec ses types normalisés.

    Lève :class:`ErreurDonnees` à la première anomalie (colonne manquante, type, valeur hors domaine,
    identifiant en double, géométrie absente, vide, invalide ou hors WGS84).
    """
    if nom not in SCHEMAS:
        raise ErreurDonnees(f"Couche inconnue « {nom} ». Couches connues : {', '.join(SCHEMAS)}.", nom)
    schema = SCHEMAS[nom]
    if table is not None and len(table) == 0 and schema.vide_admise:  # rien de recensé : couche vide valide
        _verifier_colonnes(schema, table)
        if schema.geographique:
            _verifier_geometries(schema, table)
        return table
    if table is None or len(table) == 0:
        raise ErreurDonnees(f"Couche « {schema.libelle} » ({nom}) vide : aucune ligne.", nom)
    _verifier_colonnes(schema, table)
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
