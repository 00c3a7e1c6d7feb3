"""Import des couches de critères du potentiel de désimperméabilisation (issue 15) : sols, nappe, sites pollués,
captages, cavités.

Sources :

- ``nappe``, ``sites_pollues``, ``cavites`` : API Géorisques (BRGM, ministère de la Transition écologique), une
  requête par commune et par page (``?code_insee=…&page=…&page_size=…``) : ``/remontee_nappe``,
  ``/ssp/conclusions_sis`` et ``/ssp/instructions`` (ex-BASOL : pollution avérée, classés SIS, choix prudent),
  ``/ssp/casias`` (anciens sites industriels), ``/cavites``. Réponse paginée ``{data: […], total_pages}`` (ou
  FeatureCollection) ; géométrie dans ``geom``/``geometry`` (GeoJSON ou WKT) ou ``longitude``/``latitude``.
  Adresse de base : variable ``DESIMPER_URL_GEORISQUES``, sinon clé ``sources.georisques`` de ``territoire.json``,
  sinon ``https://georisques.gouv.fr/api/v1`` ;
- ``sol`` (groupes hydrologiques A à D) et ``captages`` (périmètres des ARS) : pas de service national ouvert,
  ``--depuis FICHIER`` seulement ;
- toute couche : ``--depuis`` GeoJSON, GeoPackage ou Shapefile (zippé ou non), classe lue dans une colonne
  reconnue ou ``--colonne NOM``, valeurs reconnues (libellés Géorisques, PPI/PPR/PPE…) ou traduites par
  ``--valeur SOURCE=CLASSE`` ; ``--classe`` donne la même classe à tout un fichier (un fichier de SIS).

Chaque couche est reprojetée, découpée par les communes du territoire (polygones) ou rattachée à la commune qui
la contient (points), validée (:mod:`donnees.schemas`) puis publiée avec sa fiche de ``sources.json`` d'un seul
coup (:func:`donnees.publication_couches.publier_couches`) : un refus laisse la couche précédente en place.
Une couche vide est valide (rien de recensé) : elle compte comme disponible dans la confiance du score.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from donnees.config import dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_CALCUL, CRS_STOCKAGE, en_lambert93, en_wgs84, lire_geometrie, repartir_par_commune
from donnees.import_referentiel import (DESCRIPTIONS, SURFACE_MIN_MORCEAU_M2, RapportImport, _colonne, _compter,
                                        _lire_territoire_reel, _millesime, _polygones_valides,
                                        _verifier_meme_systeme, lire_fichier, preparer_liste)
from donnees.lecture_vecteur import NB_CITES, citer, verifier_dans_wgs84
from donnees.publication_couches import publier_couches, reprendre_publication
from donnees.referentiel import couche_presente, lire_couche
from donnees.schemas import CLASSES_CRITERES, COUCHES_CRITERES_IMPORTABLES, SCHEMAS, valider_couche
from donnees.sources import LICENCE_OUVERTE, URL_LICENCE_OUVERTE, construire_fiche
from donnees.telechargement import dossier_telechargements, telecharger_fichier

URL_GEORISQUES = "https://georisques.gouv.fr/api/v1"
VARIABLE_GEORISQUES = "DESIMPER_URL_GEORISQUES"
TAILLE_PAGE = 100
PAGES_MAX = 200
URL_DONNEES_GEORISQUES = "https://www.georisques.gouv.fr/donnees/bases-de-donnees"
LICENCE_NON_PRECISEE = "non précisée (fichier fourni)"

# Points d'accès Géorisques par couche : (chemin, classe donnée par le point d'accès ou None).
POINTS_ACCES = {
    "nappe": [("/remontee_nappe", None)],
    "sites_pollues": [("/ssp/conclusions_sis", "SIS"), ("/ssp/instructions", "SIS"), ("/ssp/casias", "CASIAS")],
    "cavites": [("/cavites", None)],
}
# Colonnes candidates de la classe (sans tenir compte de la casse), puis des colonnes facultatives.
COLONNES_CLASSE = {
    "sol": ("groupe", "groupe_sol", "groupe_hydrologique", "ghs", "hsg", "hydgrp", "classe"),
    "nappe": ("classe", "nappe", "libelle", "lib_classe", "type", "zone", "niveau"),
    "captages": ("perimetre", "captage", "type_perimetre", "type_perim", "typ_perim", "type", "nature"),
    "sites_pollues": ("type", "type_site", "base", "categorie", "source"),
}
COLONNES_NOM = ("nom", "nom_site", "nom_etablissement", "raison_sociale", "libelle")
COLONNES_NATURE = ("nature", "type", "type_cavite", "nature_cavite")
COLONNES_GEOMETRIE = ("geom", "geometry", "geometrie", "the_geom", "geojson", "geom_json")

SANS_SERVICE = {
    "sol": ("Pas de service national ouvert des groupes hydrologiques des sols (A à D) : dérivez-les d'une carte "
            "des sols (Référentiel régional pédologique, Gis Sol / INRAE) ou d'une étude locale, puis : desimper "
            "importer sol --depuis sols.gpkg [--colonne GROUPE]."),
    "captages": ("Les périmètres de protection des captages ne sont pas diffusés en données ouvertes nationales : "
                 "demandez-les à l'ARS (ou à la DDT) de votre département, puis : desimper importer captages "
                 "--depuis perimetres.gpkg [--colonne TYPE_PERIM]."),
}


# ------------------------------------------------------------------------------------ classes et alias


def _simplifier(texte: str) -> str:
    """Texte sans accents, en minuscules, espaces réduits (comparaison des libellés)."""
    sans = unicodedata.normalize("NFKD", str(texte)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", sans.replace("’", "'")).strip().lower()


def _classe_sol(valeur: str) -> str | None:
    texte = re.sub(r"^(groupe( hydrologique)?( de sol)?|hsg|ghs)\s*", "", _simplifier(valeur)).upper()
    if texte in ("A", "B", "C", "D"):
        return texte
    return "D" if re.fullmatch(r"[ABC]/D", texte) else None  # sol drainé / non drainé : le moins infiltrant


def _classe_nappe(valeur: str) -> str | None:
    texte = _simplifier(valeur)
    if texte in ("debordement", "cave", "aucun"):
        return texte
    if texte.startswith(("pas de", "aucun", "absence", "ni ")) or texte in ("non", "nulle", "0"):
        return "aucun"
    if "debordement" in texte:
        return "debordement"
    return "cave" if "cave" in texte else None


def _classe_captage(valeur: str) -> str | None:
    texte = _simplifier(valeur)
    for classe, codes in (("immediat", ("ppi", "pi")), ("rapproche", ("ppr", "pr")), ("eloigne", ("ppe", "pe"))):
        if texte in codes or classe in texte or (classe == "immediat" and "immediate" in texte):
            return classe
    if "rapprochee" in texte:
        return "rapproche"
    return "eloigne" if "eloignee" in texte else None


def _classe_site(valeur: str) -> str | None:
    texte = _simplifier(valeur)
    if texte in ("sis", "basol", "ex-basol", "instruction", "instructions") or "information sur les sols" in texte:
        return "SIS"
    if texte in ("casias", "basias") or "ancien site" in texte or "anciens sites" in texte:
        return "CASIAS"
    return None


ALIAS = {"sol": _classe_sol, "nappe": _classe_nappe, "captages": _classe_captage, "sites_pollues": _classe_site}


def lire_correspondances(valeurs: list[str] | None, couche: str) -> dict[str, str]:
    """Option ``--valeur SOURCE=CLASSE`` (répétable) : valeur du fichier → classe de la couche."""
    if not valeurs:
        return {}
    if couche not in CLASSES_CRITERES:
        raise ErreurDonnees(f"--valeur ne vaut pas pour la couche « {couche} », qui n'a pas de classes.", couche)
    classes = CLASSES_CRITERES[couche][1]
    correspondances = {}
    for texte in valeurs:
        source, egal, classe = str(texte).rpartition("=")
        if not egal or not source.strip() or classe.strip() not in classes:
            raise ErreurDonnees(f"--valeur « {texte} » : attendu SOURCE=CLASSE, CLASSE parmi {', '.join(classes)} "
                                f"(exemple : --valeur '3={classes[-1]}').", couche, "valeur")
        correspondances[source.strip()] = classe.strip()
    return correspondances


def traduire_classes(valeurs: pd.Series, couche: str, correspondances: dict[str, str], nom_fichier: str,
                     colonne: str) -> pd.Series:
    """Classes de la couche tirées des valeurs d'une colonne : ``--valeur`` d'abord, puis les alias connus.

    Une valeur inconnue lève :class:`ErreurDonnees` qui nomme le fichier, les lignes, la colonne, la valeur et
    la correction."""
    classes = CLASSES_CRITERES[couche][1]
    brutes = valeurs.astype(object).where(valeurs.notna(), None)
    traduites = [correspondances.get(str(v).strip()) if v is not None else None for v in brutes]
    traduites = [t if t is not None or v is None else ALIAS[couche](str(v)) for t, v in zip(traduites, brutes)]
    inconnues = [i for i, t in enumerate(traduites) if t is None]
    if inconnues:
        valeur = brutes.iloc[inconnues[0]]
        affichee = "(vide)" if valeur is None or str(valeur).strip() == "" else str(valeur).strip()
        autres = sorted({"(vide)" if brutes.iloc[i] is None else str(brutes.iloc[i]).strip() for i in inconnues})
        lignes = [i + 1 for i in inconnues]
        exemple = affichee if affichee != "(vide)" else "VALEUR"
        raise ErreurDonnees(
            f"Fichier {nom_fichier}, ligne {citer(lignes)}, colonne « {colonne} » : valeur « {affichee} » inconnue "
            f"pour la couche {couche} (valeurs inconnues : {citer(autres)} ; classes attendues : {', '.join(classes)})."
            f" Corrigez le fichier, ou traduisez la valeur avec --valeur '{exemple}={classes[0]}' (une option par "
            "valeur), ou choisissez une autre colonne avec --colonne NOM.", couche, colonne, lignes[:NB_CITES])
    return pd.Series(traduites, index=valeurs.index, dtype=object)


# ------------------------------------------------------------------------------------ lecture des fichiers


def _premieres_valeurs(table: pd.DataFrame, candidats: tuple[str, ...]) -> np.ndarray | None:
    """Par ligne, la première valeur non vide des colonnes candidates présentes (None si aucune colonne)."""
    par_minuscule = {str(c).lower(): c for c in table.columns}
    presentes = [par_minuscule[c.lower()] for c in candidats if c.lower() in par_minuscule]
    if not presentes:
        return None
    valeurs = pd.Series([None] * len(table), index=table.index, dtype=object)
    for colonne in presentes:
        colonne_valeurs = table[colonne].where(table[colonne].notna() & table[colonne].astype(str).str.strip().ne(""))
        valeurs = valeurs.where(valeurs.notna(), colonne_valeurs)
    return valeurs.where(valeurs.notna(), None).to_numpy(dtype=object)


def _morceau_fichier(lecture, couche: str, colonne: str | None, correspondances: dict[str, str],
                     classe: str | None) -> gpd.GeoDataFrame:
    """Entités d'un fichier lu, avec leur classe (``_classe``), leur nom et leur nature (WGS84)."""
    table = lecture.table
    colonnes = {"_classe": None, "nom": None, "nature": None}
    if couche in CLASSES_CRITERES:
        if classe is not None:
            colonnes["_classe"] = classe
        else:
            trouvee = _colonne(table, (colonne,) if colonne else COLONNES_CLASSE[couche])
            if trouvee is None:
                presentes = citer(c for c in table.columns if c != "geometry") or "aucune"
                debut = (f"colonne « {colonne} » absente" if colonne else
                         f"colonne de la classe introuvable (essayées : {', '.join(COLONNES_CLASSE[couche])})")
                raise ErreurDonnees(
                    f"Fichier {lecture.nom} : {debut} ; colonnes du fichier : {presentes}. Indiquez la colonne avec "
                    "--colonne NOM, ou donnez la même classe à tout le fichier avec --classe "
                    f"({', '.join(CLASSES_CRITERES[couche][1])}).", couche, colonne or CLASSES_CRITERES[couche][0])
            colonnes["_classe"] = traduire_classes(table[trouvee], couche, correspondances, lecture.nom,
                                                   str(trouvee)).to_numpy()
    colonnes["nom"] = _premieres_valeurs(table, COLONNES_NOM)
    if couche == "cavites":
        colonnes["nature"] = _premieres_valeurs(table, (colonne,) if colonne else COLONNES_NATURE)
    return gpd.GeoDataFrame(colonnes, index=table.index, geometry=table.geometry.values, crs=CRS_STOCKAGE)


def _lire_fichiers(couche: str, fichiers: list[Path], crs: str | None, couche_fichier: str | None,
                   colonne: str | None, correspondances: dict[str, str], classe: str | None,
                   emprise: tuple) -> tuple[gpd.GeoDataFrame, list]:
    """Entités de tous les fichiers (WGS84) et leurs lectures ; ``crs`` impose le système (déclaré faux)."""
    lectures = [lire_fichier(f, crs, couche_fichier, emprise, imposer_crs=bool(crs)) for f in fichiers]
    _verifier_meme_systeme(lectures)
    morceaux = [_morceau_fichier(lecture, couche, colonne, correspondances, classe)
                for lecture in lectures if len(lecture.table)]
    if not morceaux:
        raise ErreurDonnees(
            f"Aucune entité à importer dans {citer((Path(f).name for f in fichiers), 3)} (ou aucune dans l'emprise "
            f"du territoire). Si le fichier n'est pas vide, son système de coordonnées est sans doute faux : "
            "imposez le bon avec --crs (par exemple --crs EPSG:2154 pour du Lambert-93, --crs EPSG:4326 pour des "
            "longitudes et latitudes).", couche, "crs")
    return gpd.GeoDataFrame(pd.concat(morceaux, ignore_index=True), geometry="geometry", crs=CRS_STOCKAGE), lectures


# ------------------------------------------------------------------------------------ Géorisques


def url_georisques(territoire: dict | None = None) -> str:
    """Adresse de base de l'API Géorisques : variable d'environnement, sinon territoire.json, sinon défaut."""
    declarees = (territoire or {}).get("sources") or {}
    valeur = os.environ.get(VARIABLE_GEORISQUES, "").strip() or declarees.get("georisques") or URL_GEORISQUES
    return str(valeur).rstrip("/")


def _url_page(base: str, chemin: str, code: str, page: int) -> str:
    return f"{base}{chemin}?code_insee={code}&page={page}&page_size={TAILLE_PAGE}"


def _geometrie_element(element: dict):
    """Géométrie d'un élément de réponse Géorisques (GeoJSON, WKT, ou longitude/latitude), ou None."""
    for cle in COLONNES_GEOMETRIE:
        valeur = element.get(cle)
        if isinstance(valeur, str) and valeur.strip().startswith("{"):
            try:
                valeur = json.loads(valeur)
            except ValueError:
                continue
        geometrie = lire_geometrie(valeur) if valeur else None
        if geometrie is not None and not geometrie.is_empty:
            return geometrie
    try:
        longitude, latitude = float(element.get("longitude")), float(element.get("latitude"))
    except (TypeError, ValueError):
        return None
    return shapely.Point(longitude, latitude) if np.isfinite([longitude, latitude]).all() else None


def lire_reponse_georisques(chemin: Path, url: str) -> tuple[list[dict], list, int]:
    """Éléments d'une réponse (propriétés, géométries WGS84 ou None) et nombre de pages annoncé."""
    try:
        contenu = json.loads(Path(chemin).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        Path(chemin).unlink(missing_ok=True)  # réponse tronquée : pas gardée en cache
        raise ErreurDonnees(f"Réponse de Géorisques illisible ou tronquée pour {url} ({exc}). Relancez l'import ; "
                            "si cela se répète, importez un fichier avec --depuis.", "import") from None
    if isinstance(contenu, dict) and contenu.get("type") == "FeatureCollection":
        entites = contenu.get("features") or []
        proprietes = [dict(e.get("properties") or {}) for e in entites]
        geometries = [lire_geometrie(e.get("geometry")) if e.get("geometry") else None for e in entites]
        return proprietes, geometries, 1
    if not isinstance(contenu, dict) or not isinstance(contenu.get("data"), list):
        Path(chemin).unlink(missing_ok=True)
        raise ErreurDonnees(f"Réponse de Géorisques inattendue pour {url} : ni liste « data » ni FeatureCollection. "
                            "Le service a peut-être changé : importez un fichier avec --depuis "
                            f"({URL_DONNEES_GEORISQUES}).", "import")
    elements = [e for e in contenu["data"] if isinstance(e, dict)]
    try:
        pages = int(contenu.get("total_pages") or 1)
    except (TypeError, ValueError):
        pages = 1
    return elements, [_geometrie_element(e) for e in elements], pages


def _conseil_georisques(couche: str, liste: Path) -> str:
    return (f"Sans accès à Géorisques : les adresses des réponses sont dans {liste} ; téléchargez plutôt la couche "
            f"sur {URL_DONNEES_GEORISQUES} (GeoJSON, GeoPackage ou Shapefile zippé), puis : desimper importer "
            f"{couche} --depuis FICHIER.")


def _telecharger_georisques(couche: str, dossier: Path, codes: list[str], base: str, forcer: bool,
                            progression: bool, correspondances: dict[str, str]
                            ) -> tuple[gpd.GeoDataFrame, list[str], list[str | None], list[str]]:
    """Entités des communes du territoire lues dans l'API Géorisques (WGS84), adresses, dates, avertissements."""
    premieres = [_url_page(base, chemin, code, 1) for chemin, _ in POINTS_ACCES[couche] for code in codes]
    conseil = _conseil_georisques(couche, preparer_liste(couche, premieres, dossier))
    lignes, geometries, urls, dates, sans_position = [], [], [], [], 0
    for chemin, classe in POINTS_ACCES[couche]:
        for code in codes:
            page, pages = 1, 1
            while page <= min(pages, PAGES_MAX):
                url = _url_page(base, chemin, code, page)
                obtenu = telecharger_fichier(url, dossier_telechargements(dossier), forcer=forcer,
                                             progression=progression, conseil=conseil)
                elements, geoms, pages = lire_reponse_georisques(obtenu.chemin, url)
                urls.append(url)
                dates.append(obtenu.date_serveur)
                for element, geometrie in zip(elements, geoms):
                    if geometrie is None:
                        sans_position += 1
                        continue
                    lignes.append({**element, "_point_acces": classe})
                    geometries.append(geometrie)
                page += 1
    avertissements = [f"{sans_position} élément(s) sans position (ni géométrie ni longitude/latitude) écarté(s)."] \
        if sans_position else []
    table = gpd.GeoDataFrame(pd.DataFrame(lignes), geometry=geometries, crs=CRS_STOCKAGE)
    nom = f"réponses de Géorisques ({base})"
    verifier_dans_wgs84(table.geometry.values, nom, "Les positions de Géorisques sont en longitude/latitude.")
    colonnes = {"_classe": None, "nom": None, "nature": None}
    if len(table) and couche in CLASSES_CRITERES:
        if couche == "sites_pollues":
            colonnes["_classe"] = table["_point_acces"].to_numpy()
        else:
            trouvee = _colonne(table, COLONNES_CLASSE[couche])
            if trouvee is None:
                raise ErreurDonnees(f"{nom.capitalize()} : pas de colonne de classe "
                                    f"({', '.join(COLONNES_CLASSE[couche])}). Le service a peut-être changé : "
                                    f"importez un fichier avec --depuis ({URL_DONNEES_GEORISQUES}).", couche)
            colonnes["_classe"] = traduire_classes(table[trouvee], couche, correspondances, nom,
                                                   str(trouvee)).to_numpy()
    if len(table):
        colonnes["nom"] = _premieres_valeurs(table, COLONNES_NOM)
        if couche == "cavites":
            colonnes["nature"] = _premieres_valeurs(table, COLONNES_NATURE)
    morceau = gpd.GeoDataFrame(colonnes, index=table.index, geometry=table.geometry.values, crs=CRS_STOCKAGE)
    return morceau, urls, dates, avertissements


# ------------------------------------------------------------------------------------ découpage par commune


def repartir_entites(table: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, couche: str,
                     avertissements: list[str]) -> gpd.GeoDataFrame:
    """Entités (WGS84) découpées par les communes (polygones) ou rattachées à celle qui les contient (points),
    numérotées ``<code INSEE>-<rang>`` ; les entités hors du territoire sont écartées."""
    schema = SCHEMAS[couche]
    geometries = shapely.force_2d(en_lambert93(table).geometry.values)
    types = shapely.get_type_id(geometries)
    ponctuelles = np.isin(types, [shapely.GeometryType.POINT.value, shapely.GeometryType.MULTIPOINT.value])
    surfaciques = np.isin(types, [shapely.GeometryType.POLYGON.value, shapely.GeometryType.MULTIPOLYGON.value,
                                  shapely.GeometryType.GEOMETRYCOLLECTION.value])
    if "Point" not in schema.geometries and ponctuelles.any():
        avertissements.append(f"{int(ponctuelles.sum())} entité(s) ponctuelle(s) écartée(s) : la couche {couche} "
                              "attend des polygones (zones, périmètres).")
        ponctuelles[:] = False
    autres = ~(ponctuelles | surfaciques)
    if autres.any():
        avertissements.append(f"{int(autres.sum())} entité(s) linéaire(s) ou vide(s) écartée(s).")
    contours = _polygones_valides(en_lambert93(communes).geometry.values)
    rang_poly = np.flatnonzero(surfaciques)
    polygones = _polygones_valides(geometries[rang_poly])
    gardes = ~shapely.is_missing(polygones)
    geoms, source, rang, _ = repartir_par_commune(polygones[gardes], contours, SURFACE_MIN_MORCEAU_M2)
    source = rang_poly[gardes][source]
    rang_points = np.flatnonzero(ponctuelles)
    points_source, points_commune = shapely.STRtree(contours).query(geometries[rang_points], predicate="intersects")
    premier = pd.Series(points_commune).groupby(points_source).min()  # point sur une limite : une seule commune
    tout_source = np.concatenate([source, rang_points[premier.index.to_numpy(int)]]).astype(int)
    tout_rang = np.concatenate([rang, premier.to_numpy(int)]).astype(int)
    tout_geoms = np.concatenate([geoms, geometries[rang_points[premier.index.to_numpy(int)]]])
    ordre = np.lexsort((tout_source, tout_rang))
    tout_source, tout_rang, tout_geoms = tout_source[ordre], tout_rang[ordre], tout_geoms[ordre]
    code_insee = communes["code_insee"].to_numpy()[tout_rang]
    numero = pd.Series(code_insee).groupby(code_insee).cumcount() + 1
    resultat = {"id": (pd.Series(code_insee, dtype=object) + "-" + numero.astype(str).str.zfill(6)).to_numpy(),
                "code_insee": code_insee}
    if couche in CLASSES_CRITERES:
        resultat[CLASSES_CRITERES[couche][0]] = table["_classe"].to_numpy()[tout_source]
    for colonne in schema.colonnes.columns:
        if colonne not in resultat:
            resultat[colonne] = pd.Series(table[colonne].to_numpy()[tout_source], dtype=object).where(
                lambda s: s.notna(), None).to_numpy()
    return en_wgs84(gpd.GeoDataFrame(resultat, geometry=tout_geoms, crs=CRS_CALCUL))


# ------------------------------------------------------------------------------------ orchestration


def importer_critere(couche: str, dossier: Path | None = None, *, telecharger: bool | None = None,
                     fichiers: list[Path | str] | None = None, forcer: bool = False, millesime: str | None = None,
                     crs: str | None = None, couche_fichier: str | None = None, colonne: str | None = None,
                     valeurs: list[str] | None = None, classe: str | None = None,
                     progression: bool = False) -> RapportImport:
    """Importe une couche de critère (``sol``, ``nappe``, ``sites_pollues``, ``captages``, ``cavites``).

    Sans ``fichiers``, la couche est téléchargée de Géorisques (nappe, sites pollués, cavités) ; ``crs`` impose le
    système des fichiers (absent ou déclaré faux) ; ``colonne``, ``valeurs`` (``SOURCE=CLASSE``) et ``classe``
    disent comment lire la classe. Lève :class:`ErreurDonnees` (message en français) sans rien écrire."""
    dossier = Path(dossier) if dossier else dossier_donnees()
    reprendre_publication(dossier)
    if couche not in COUCHES_CRITERES_IMPORTABLES:
        raise ErreurDonnees(f"Couche de critère « {couche} » inconnue (couches : "
                            f"{', '.join(COUCHES_CRITERES_IMPORTABLES)}).", "import")
    fichiers = [Path(f) for f in (fichiers or [])]
    if telecharger and fichiers:
        raise ErreurDonnees("Choisissez --telecharger ou --depuis, pas les deux.", "import")
    telecharger = not fichiers if telecharger is None else telecharger
    if crs:
        try:
            pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError:
            raise ErreurDonnees(f"Système de coordonnées « {crs} » inconnu (exemple : EPSG:2154).", "import",
                                "crs") from None
    if classe is not None and (couche not in CLASSES_CRITERES or classe not in CLASSES_CRITERES[couche][1]):
        attendues = ", ".join(CLASSES_CRITERES[couche][1]) if couche in CLASSES_CRITERES else "aucune"
        raise ErreurDonnees(f"--classe « {classe} » : classe inconnue pour la couche {couche} (classes : "
                            f"{attendues}).", couche, "classe")
    correspondances = lire_correspondances(valeurs, couche)
    territoire = _lire_territoire_reel(dossier)
    codes = [str(c) for c in territoire["codes_insee"]]
    if telecharger and couche in SANS_SERVICE:
        raise ErreurDonnees(SANS_SERVICE[couche], couche)
    if not couche_presente("communes", dossier):
        raise ErreurDonnees(f"Importez d'abord les communes (desimper importer communes) : la couche {couche} est "
                            "découpée par les contours des communes du territoire.", couche)
    communes = lire_couche("communes", dossier)
    communes = communes[communes["code_insee"].isin(codes)].reset_index(drop=True)
    description = dict(DESCRIPTIONS[couche])
    avertissements: list[str] = []
    if telecharger:
        base = url_georisques(territoire)
        table, urls, dates, avertissements = _telecharger_georisques(
            couche, dossier, codes, base, forcer, progression, correspondances)
        fiche = dict(source=description["source"], producteur=description["producteur"],
                     attribution=f"Source : {description['source']}, via l'API Géorisques (Licence Ouverte / "
                                 "Etalab 2.0)", origine="telechargement", urls=urls, fichiers=[])
        licence, url_licence = LICENCE_OUVERTE, URL_LICENCE_OUVERTE
    else:
        table, _ = _lire_fichiers(couche, fichiers, crs, couche_fichier, colonne, correspondances, classe,
                                  tuple(communes.total_bounds))
        urls, dates = [], []
        noms = ", ".join(f.name for f in fichiers)
        ouverte = couche in POINTS_ACCES  # couches de Géorisques : Licence Ouverte
        fiche = dict(source=f"{description['source']} (fichier fourni)", producteur=description["producteur"],
                     attribution=f"Source : {description['source']} – fichier {noms}"
                                 + (" (Licence Ouverte / Etalab 2.0)" if ouverte else ""),
                     origine="fichier", urls=[], fichiers=[str(f) for f in fichiers])
        licence, url_licence = (LICENCE_OUVERTE, URL_LICENCE_OUVERTE) if ouverte else (LICENCE_NON_PRECISEE, None)
    nombre_lu = len(table)
    resultat = repartir_entites(table, communes, couche, avertissements) if nombre_lu else None
    if resultat is None or not len(resultat):
        if not telecharger:
            emprise = ", ".join(f"{v:.4f}" for v in table.total_bounds)
            territoire_bornes = ", ".join(f"{v:.4f}" for v in communes.total_bounds)
            raise ErreurDonnees(
                f"Fichier {citer((f.name for f in fichiers), 3)} : aucune des {nombre_lu} entités n'est dans les "
                f"communes du territoire après reprojection en WGS84 (entités : {emprise} ; territoire : "
                f"{territoire_bornes}). Si le système de coordonnées déclaré par le fichier est faux, imposez le "
                "bon avec --crs (par exemple --crs EPSG:2154 pour du Lambert-93, --crs EPSG:4326 pour des "
                "longitudes et latitudes) ; sinon fournissez le fichier qui couvre le territoire.", couche, "crs")
        avertissements.append(f"Aucun objet recensé par Géorisques dans les communes du territoire : couche "
                              f"{couche} vide (elle compte comme connue dans la confiance du score).")
        resultat = _table_vide(couche)
    table_finale = valider_couche(couche, resultat)
    par_commune = _compter(table_finale["code_insee"]) if len(table_finale) else {}
    fiches = {couche: construire_fiche(
        couche, nombre=len(table_finale), par_commune=par_commune, licence=licence, url_licence=url_licence,
        millesime=_millesime(millesime, urls + [f.name for f in fichiers], dates), **fiche)}
    publier_couches(dossier, {couche: table_finale}, fiches)
    return RapportImport(couche, len(table_finale), par_commune, avertissements, fiches[couche])


def _table_vide(couche: str) -> gpd.GeoDataFrame:
    """Couche de critère vide, aux colonnes de son schéma, en WGS84."""
    colonnes = {c: pd.Series([], dtype=object) for c in SCHEMAS[couche].colonnes.columns}
    return gpd.GeoDataFrame(colonnes, geometry=gpd.GeoSeries([], crs=CRS_STOCKAGE), crs=CRS_STOCKAGE)


__all__ = ["COUCHES_CRITERES_IMPORTABLES", "importer_critere", "lire_correspondances", "lire_reponse_georisques",
           "repartir_entites", "traduire_classes", "url_georisques"]
