"""Potentiel de désimperméabilisation par parcelle, à la manière de la démarche EPODES du Cerema (issue 15).

Critères (couches) et leur rôle, paramètres dans ``indicateurs/parametres/potentiel.csv`` (sources et
raisonnements, montrés sur la page Méthode) :

- **favorables**, notés entre 0 et 1 puis pondérés ::

      n_impermeabilite = S_imperméable_non_bâtie / S_parcelle           (OCS GE, couverture CS1.1.1* hors bâti)
      n_infiltrabilite = note du groupe hydrologique du sol (A = 1 … D = 0)
      n_chaleur        = min(1, max(0, anomalie / uhi_max_c))            (modèle InVEST Urban Cooling)
      score_brut       = 100 × Σ_k poids_k · n_k / Σ_k poids_k           (critères connus pour la parcelle)

- **contraintes**, qui excluent la parcelle (score 0, classe « exclu ») ou multiplient son score par un
  facteur : site pollué (SIS : exclu ; ancien site industriel CASIAS : facteur), captage d'eau potable
  (périmètre immédiat : exclu ; rapproché : facteur), remontée de nappe (débordement, inondation de cave :
  facteurs), cavité souterraine (facteur) ::

      score = score_brut × Π facteurs des contraintes touchées × min(1, gisement / gisement_minimum_m2)

  (le dernier facteur réduit en proportion le score des très petits gisements, en m²).

Classes : « fort » (score ≥ ``seuil_classe_forte``), « moyen » (≥ ``seuil_classe_moyenne``), « faible », « exclu »,
et « inconnu » sans occupation du sol (le gisement n'est pas connu). Confiance = part des couches de critères
disponibles (7 au total) : une couche absente abaisse la confiance affichée, sans erreur. Chaque parcelle porte
ses motifs en français (critères, contraintes et leur effet).

Fonctions pures : les couches arrivent en (Geo)DataFrames, rien n'est lu ni écrit ici.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre
from donnees.geometrie import en_lambert93
from indicateurs.parametres import lire_table_parametres

FICHIER_POTENTIEL = Path(__file__).resolve().parent / "parametres" / "potentiel.csv"
# Couches de critères ; la confiance d'un score est la part de celles qui sont disponibles.
COUCHES_CRITERES = {
    "occupation": "occupation du sol (imperméabilisation, OCS GE)",
    "sol": "infiltrabilité des sols (groupes hydrologiques A à D)",
    "chaleur": "anomalie de chaleur (modèle du projet)",
    "nappe": "remontées de nappe (BRGM)",
    "sites_pollues": "sites et sols pollués (SIS, CASIAS)",
    "captages": "périmètres de protection des captages (ARS)",
    "cavites": "cavités souterraines (BRGM)",
}
FAVORABLES = {"impermeabilite": ("poids_impermeabilite", "occupation"),
              "infiltrabilite": ("poids_infiltrabilite", "sol"),
              "chaleur": ("poids_chaleur", "chaleur")}
GROUPES_SOL = ("A", "B", "C", "D")
CLASSES_NAPPE = {"debordement": "zone sujette aux débordements de nappe",
                 "cave": "zone sujette aux inondations de cave", "aucun": "pas de débordement"}
CLASSES_CAPTAGE = {"immediat": "périmètre de protection immédiate", "rapproche": "périmètre de protection rapprochée",
                   "eloigne": "périmètre de protection éloignée"}
CLASSES_POTENTIEL = {"fort": "fort", "moyen": "moyen", "faible": "faible", "exclu": "exclu",
                     "inconnu": "inconnu (occupation du sol absente)"}
COLONNES_POTENTIEL = ["id", "code_insee", "score_potentiel", "classe_potentiel", "confiance_potentiel", "motifs",
                      "couches_manquantes"]
TOLERANCE_SOMME = 1e-9


def lire_regles_potentiel(surcharges: Mapping[str, float] | None = None,
                          chemin: Path = FICHIER_POTENTIEL) -> dict[str, float]:
    """Règles du score (``potentiel.csv``), éventuellement surchargées (bornes vérifiées) ; la somme des trois
    poids doit valoir ``somme_poids_declaree`` (à 1e-9 près), sinon :class:`ErreurDonnees` qui le dit."""
    table = lire_table_parametres(chemin)
    valeurs = table["valeur"].astype(float).to_dict()
    for code, valeur in (surcharges or {}).items():
        if code not in table.index:
            raise ErreurDonnees(f"Règle du potentiel inconnue : « {code} » (connues : {', '.join(table.index)}).",
                                "potentiel", code)
        try:
            valeur = float(valeur)
        except (TypeError, ValueError):
            raise ErreurDonnees(f"Règle du potentiel « {code} » : « {valeur} » n'est pas un nombre.", "potentiel",
                                code) from None
        if not (math.isfinite(valeur) and table.at[code, "minimum"] <= valeur <= table.at[code, "maximum"]):
            raise ErreurDonnees(f"Règle du potentiel « {code} » = {_court(valeur)} hors des bornes "
                                f"[{_court(table.at[code, 'minimum'])} ; {_court(table.at[code, 'maximum'])}].",
                                "potentiel", code)
        valeurs[code] = valeur
    somme = sum(valeurs[poids] for poids, _ in FAVORABLES.values())
    if abs(somme - valeurs["somme_poids_declaree"]) > TOLERANCE_SOMME:
        raise ErreurDonnees(
            f"Poids du potentiel : leur somme vaut {_court(somme)} au lieu de "
            f"{_court(valeurs['somme_poids_declaree'])} déclarée (poids_impermeabilite "
            f"{_court(valeurs['poids_impermeabilite'])}, poids_infiltrabilite "
            f"{_court(valeurs['poids_infiltrabilite'])}, poids_chaleur "
            f"{_court(valeurs['poids_chaleur'])}). Ajustez les poids ou la somme déclarée.",
            "potentiel", "somme_poids_declaree")
    if valeurs["seuil_classe_moyenne"] > valeurs["seuil_classe_forte"]:
        raise ErreurDonnees("Règles du potentiel : le seuil de la classe « moyen » dépasse celui de la classe "
                            "« fort ». Abaissez seuil_classe_moyenne ou relevez seuil_classe_forte.",
                            "potentiel", "seuil_classe_moyenne")
    return valeurs


# ------------------------------------------------------------------------------------ croisement des couches


def _parcelles_lambert93(parcelles, tolerance_m: float) -> np.ndarray:
    if parcelles.crs is None:
        raise ErreurDonnees("Parcelles sans système de coordonnées (attendu EPSG:4326 ou EPSG:2154).",
                            "potentiel", "geometry")
    geometries = np.asarray(en_lambert93(parcelles.geometry).values, dtype=object)
    return shapely.buffer(geometries, -tolerance_m) if tolerance_m > 0 else geometries


def _couche_lambert93(couche, nom: str) -> np.ndarray:
    if couche.crs is None:
        raise ErreurDonnees(f"Couche « {COUCHES_CRITERES.get(nom, nom)} » sans système de coordonnées : "
                            "déclarez-le (EPSG:2154 ou EPSG:4326) avant de l'importer.", nom, "geometry")
    return np.asarray(en_lambert93(couche.geometry).values, dtype=object)


def relever_contacts(parcelles, couche, nom: str, tolerance_m: float = 0.001) -> np.ndarray:
    """Vrai pour chaque parcelle qui touche (au-delà d'un simple contact de bord, parcelle rétractée de
    ``tolerance_m``) une géométrie de ``couche`` (polygones ou points), en Lambert-93."""
    touche = np.zeros(len(parcelles), dtype=bool)
    if couche is None or len(couche) == 0 or len(parcelles) == 0:
        return touche
    arbre = shapely.STRtree(_couche_lambert93(couche, nom))
    indices_parcelles, _ = arbre.query(_parcelles_lambert93(parcelles, tolerance_m), predicate="intersects")
    touche[np.unique(indices_parcelles)] = True
    return touche


def verifier_classes(couche, nom: str, colonne: str, ordre: list[str]) -> pd.Series:
    """Classes (colonne ``colonne``) d'une couche de critère ; une classe hors de ``ordre`` lève
    :class:`ErreurDonnees` qui la nomme."""
    classes = couche[colonne].astype(str).str.strip()
    inconnues = sorted(set(classes) - set(ordre))
    if inconnues:
        raise ErreurDonnees(f"Couche « {COUCHES_CRITERES.get(nom, nom)} », colonne « {colonne} » : classe(s) "
                            f"{', '.join(inconnues[:5])} inconnue(s) (attendues : {', '.join(ordre)}).", nom, colonne)
    return classes


def relever_classe(parcelles, couche, nom: str, colonne: str, ordre: Iterable[str],
                   tolerance_m: float = 0.001) -> pd.Series:
    """Pour chaque parcelle, la classe (colonne ``colonne`` de ``couche``) la plus contraignante — la première dans
    ``ordre`` — parmi les géométries qu'elle touche ; NaN si elle n'en touche aucune. Une classe hors de ``ordre``
    lève :class:`ErreurDonnees` qui la nomme."""
    ordre = list(ordre)
    resultat = pd.Series(np.nan, index=parcelles.index, dtype=object)
    if couche is None or len(couche) == 0 or len(parcelles) == 0:
        return resultat
    classes = verifier_classes(couche, nom, colonne, ordre)
    rangs = classes.map({c: i for i, c in enumerate(ordre)}).to_numpy(int)
    arbre = shapely.STRtree(_couche_lambert93(couche, nom))
    indices_parcelles, indices_couche = arbre.query(_parcelles_lambert93(parcelles, tolerance_m),
                                                    predicate="intersects")
    if len(indices_parcelles):
        meilleur = pd.Series(rangs[indices_couche]).groupby(indices_parcelles).min()
        resultat.iloc[meilleur.index.to_numpy()] = [ordre[r] for r in meilleur.to_numpy()]
    return resultat


# ------------------------------------------------------------------------------------ score


def _court(valeur: float) -> str:
    """Nombre à deux décimales au plus, zéros finaux retirés (« 0,7 », « 0,67 », « 1 »)."""
    texte = formater_nombre(valeur, 2)
    return texte.rstrip("0").rstrip(",") if "," in texte else texte


def _note_chaleur(anomalie: float, uhi_max_c: float) -> float:
    return float(min(1.0, max(0.0, anomalie / uhi_max_c))) if uhi_max_c > 0 else float("nan")


def _manque(valeur) -> bool:
    return valeur is None or valeur is pd.NA or (isinstance(valeur, (float, np.floating)) and math.isnan(valeur))


def _vrai(valeur) -> bool:
    """Vrai pour une valeur connue et vraie (booléen Python ou NumPy, 1) ; faux si absente."""
    return not _manque(valeur) and bool(valeur)


def _motifs_favorables(ligne, regles: Mapping[str, float], uhi_max_c: float) -> tuple[dict[str, float], list[str]]:
    """Notes des critères favorables connus pour la parcelle, et leurs motifs en français."""
    notes, motifs = {}, []
    surface = float(ligne["surface_parcelle"]) if not _manque(ligne.get("surface_parcelle")) else 0.0
    gisement = ligne.get("surface_impermeable_non_batie_parcelle")
    if not _manque(gisement) and surface > 0:
        part = min(1.0, max(0.0, float(gisement) / surface))
        notes["impermeabilite"] = part
        motifs.append(f"imperméable non bâti : {formater_nombre(100 * part, 0, '%')} de la parcelle "
                      f"({formater_nombre(float(gisement), 0, 'm²')})")
    groupe = ligne.get("groupe_sol")
    if not _manque(groupe):
        groupe = str(groupe).strip().upper()
        if groupe not in GROUPES_SOL:
            raise ErreurDonnees(f"Parcelle {ligne.get('id')} : groupe de sol « {groupe} » inconnu (attendus : A, B, C, "
                                "D).", "sol", "groupe_sol")
        note = regles[f"note_groupe_sol_{groupe.lower()}"]
        notes["infiltrabilite"] = note
        motifs.append(f"sol du groupe {groupe} (infiltrabilité {_court(note)})")
    anomalie = ligne.get("anomalie_chaleur_parcelle")
    if not _manque(anomalie):
        note = _note_chaleur(float(anomalie), uhi_max_c)
        if not math.isnan(note):
            notes["chaleur"] = note
            motifs.append(f"anomalie de chaleur {formater_nombre(float(anomalie), 1, '°C')}")
    return notes, motifs


def _contraintes(ligne, regles: Mapping[str, float]) -> tuple[bool, float, list[str]]:
    """(exclue, facteur, motifs) des contraintes que touche la parcelle."""
    exclue, facteur, motifs = False, 1.0, []

    def appliquer(code_facteur: str, texte: str) -> None:
        nonlocal facteur
        facteur *= regles[code_facteur]
        motifs.append(f"{texte} (× {_court(regles[code_facteur])})")

    if _vrai(ligne.get("site_pollue")):
        if regles["exclure_site_pollue"] >= 0.5:
            exclue = True
            motifs.append("exclue : touche un secteur d'information sur les sols (SIS), étude de sols exigée")
        else:
            motifs.append("touche un secteur d'information sur les sols (SIS), non exclu par les règles")
    if _vrai(ligne.get("ancien_site_industriel")):
        appliquer("facteur_ancien_site_industriel", "ancien site industriel ou de service (CASIAS)")
    captage = ligne.get("captage")
    if captage == "immediat":
        if regles["exclure_captage_immediat"] >= 0.5:
            exclue = True
            motifs.append("exclue : périmètre de protection immédiate d'un captage d'eau potable")
        else:
            motifs.append("périmètre de protection immédiate d'un captage, non exclu par les règles")
    elif captage == "rapproche":
        appliquer("facteur_captage_rapproche", "périmètre de protection rapprochée d'un captage")
    nappe = ligne.get("nappe")
    if nappe == "debordement":
        appliquer("facteur_nappe_debordement", CLASSES_NAPPE["debordement"])
    elif nappe == "cave":
        appliquer("facteur_nappe_cave", CLASSES_NAPPE["cave"])
    if _vrai(ligne.get("cavite")):
        appliquer("facteur_cavite", "cavité souterraine recensée (étude géotechnique à prévoir)")
    return exclue, facteur, motifs


def classer_score(score: float, regles: Mapping[str, float]) -> str:
    """Classe d'un score : « fort », « moyen » ou « faible » selon les seuils des règles."""
    if score >= regles["seuil_classe_forte"]:
        return "fort"
    return "moyen" if score >= regles["seuil_classe_moyenne"] else "faible"


def calculer_potentiel(criteres: pd.DataFrame, disponibles: Iterable[str], regles: Mapping[str, float],
                       uhi_max_c: float) -> pd.DataFrame:
    """Score, classe, confiance et motifs du potentiel de chaque parcelle (formules : docstring du module).

    ``criteres`` : une ligne par parcelle, colonnes ``id``, ``code_insee``, ``surface_parcelle``,
    ``surface_impermeable_non_batie_parcelle`` (m²), et selon les couches disponibles ``groupe_sol`` (A–D),
    ``anomalie_chaleur_parcelle`` (°C), ``nappe`` (:data:`CLASSES_NAPPE`), ``site_pollue`` et
    ``ancien_site_industriel`` (booléens), ``captage`` (:data:`CLASSES_CAPTAGE`), ``cavite`` (booléen) ;
    ``disponibles`` : noms des couches fournies (:data:`COUCHES_CRITERES`) ; ``uhi_max_c`` : paramètre du modèle
    de chaleur (°C)."""
    disponibles = set(disponibles)
    inconnues = disponibles - set(COUCHES_CRITERES)
    if inconnues:
        raise ErreurDonnees(f"Couche(s) de critère inconnue(s) : {', '.join(sorted(inconnues))}.", "potentiel")
    manquantes = [nom for nom in COUCHES_CRITERES if nom not in disponibles]
    confiance = (len(COUCHES_CRITERES) - len(manquantes)) / len(COUCHES_CRITERES)
    texte_manquantes = " ; ".join(COUCHES_CRITERES[nom] for nom in manquantes)
    lignes = []
    for ligne in criteres.to_dict("records"):
        if "occupation" not in disponibles:
            ligne = {**ligne, "surface_impermeable_non_batie_parcelle": None}
        if "chaleur" not in disponibles:
            ligne = {**ligne, "anomalie_chaleur_parcelle": None}
        if "sol" not in disponibles:
            ligne = {**ligne, "groupe_sol": None}
        notes, motifs = _motifs_favorables(ligne, regles, uhi_max_c)
        exclue, facteur, contraintes = _contraintes(ligne, regles)
        motifs += contraintes
        gisement = ligne.get("surface_impermeable_non_batie_parcelle")
        minimum = regles["gisement_minimum_m2"]
        if not exclue and not _manque(gisement) and minimum > 0 and float(gisement) < minimum:
            petit = max(0.0, float(gisement)) / minimum
            facteur *= petit
            motifs.append(f"petit gisement : {formater_nombre(float(gisement), 0, 'm²')} sous le minimum de "
                          f"{formater_nombre(minimum, 0, 'm²')} (× {_court(petit)})")
        if exclue:
            score, classe = 0.0, "exclu"
        elif "impermeabilite" not in notes:
            score, classe = float("nan"), "inconnu"
        else:
            poids = {k: regles[FAVORABLES[k][0]] for k in notes}
            total = sum(poids.values())
            brut = 100.0 * sum(poids[k] * notes[k] for k in notes) / total if total > 0 else 0.0
            score = brut * facteur
            classe = classer_score(score, regles)
        lignes.append({"id": ligne.get("id"), "code_insee": ligne.get("code_insee"), "score_potentiel": score,
                       "classe_potentiel": classe, "confiance_potentiel": confiance, "motifs": " ; ".join(motifs),
                       "couches_manquantes": texte_manquantes})
    if not lignes:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLONNES_POTENTIEL})
    return pd.DataFrame(lignes, columns=COLONNES_POTENTIEL)


# Colonnes attendues des couches de critères (hors occupation et chaleur, déjà par parcelle) et leurs classes,
# la plus contraignante d'abord : une parcelle qui touche plusieurs classes prend la plus contraignante (pour le
# sol, le groupe qui infiltre le moins : choix prudent).
CLASSES_COUCHES = {"sol": ("groupe", ("D", "C", "B", "A")),
                   "nappe": ("classe", tuple(CLASSES_NAPPE)),
                   "captages": ("perimetre", tuple(CLASSES_CAPTAGE)),
                   "sites_pollues": ("type", ("SIS", "CASIAS"))}
COLONNES_CRITERES = {"sol": "groupe_sol", "nappe": "nappe", "captages": "captage", "cavites": "cavite"}


def croiser_criteres(parcelles, couches: Mapping[str, object], tolerance_m: float = 0.001) -> pd.DataFrame:
    """Critères de chaque parcelle (``id``) relevés dans les couches de critères fournies (Lambert-93) :
    ``groupe_sol``, ``nappe``, ``captage`` (classe la plus contraignante touchée), ``site_pollue`` (touche un SIS),
    ``ancien_site_industriel`` (touche un site CASIAS), ``cavite`` (touche une cavité). Une couche absente de
    ``couches`` laisse ses colonnes absentes (critère inconnu, pas « aucune contrainte »)."""
    table = pd.DataFrame({"id": parcelles["id"].to_numpy()})
    for nom, couche in couches.items():
        if nom not in COUCHES_CRITERES or nom in ("occupation", "chaleur"):
            raise ErreurDonnees(f"Couche de critère « {nom} » inconnue (attendues : sol, nappe, sites_pollues, "
                                "captages, cavites).", "potentiel", nom)
        if nom == "cavites":
            table["cavite"] = relever_contacts(parcelles, couche, nom, tolerance_m)
            continue
        colonne, ordre = CLASSES_COUCHES[nom]
        if couche is not None and len(couche) and colonne not in couche.columns:
            raise ErreurDonnees(f"Couche « {COUCHES_CRITERES[nom]} » : colonne « {colonne} » absente (valeurs "
                                f"attendues : {', '.join(ordre)}).", nom, colonne)
        if nom == "sites_pollues":  # deux contraintes distinctes : une requête par type de site
            types = verifier_classes(couche, nom, colonne, list(ordre)) if len(couche) else pd.Series(dtype=str)
            table["site_pollue"] = relever_contacts(parcelles, couche[(types == "SIS").to_numpy(bool)], nom,
                                                    tolerance_m)
            table["ancien_site_industriel"] = relever_contacts(parcelles, couche[(types == "CASIAS").to_numpy(bool)],
                                                               nom, tolerance_m)
        else:
            table[COLONNES_CRITERES[nom]] = relever_classe(parcelles, couche, nom, colonne, ordre,
                                                           tolerance_m).to_numpy()
    return table


def choisir_parcelles_potentiel(potentiel: pd.DataFrame, nombre: int) -> pd.DataFrame:
    """Parcelles à montrer sur une carte sans envoyer toute la commune : les ``nombre`` meilleurs scores de chaque
    classe (fort, moyen, faible, inconnu) et ``nombre`` parcelles exclues au plus — le gisement, sa gradation et
    les contraintes. Vaut aussi pour les îlots (colonne ``ilot``)."""
    morceaux = []
    identifiant = "ilot" if "ilot" in potentiel.columns else "id"
    for classe in CLASSES_POTENTIEL:
        dans = potentiel[potentiel["classe_potentiel"] == classe]
        morceaux.append(dans.sort_values(["score_potentiel", identifiant], ascending=[False, True],
                                         na_position="last", kind="stable").head(nombre))
    return pd.concat(morceaux, ignore_index=True)


# ------------------------------------------------------------------------------------ îlots urbains

COLONNES_ILOTS = ["ilot", "code_insee", "nombre_parcelles", "surface_ilot", "surface_impermeable_non_batie_ilot",
                  "score_potentiel", "classe_potentiel", "nombre_exclues", "motifs"]


def grouper_ilots(parcelles, distance_m: float) -> np.ndarray:
    """Numéro d'îlot (0 … n−1) de chaque parcelle : composantes connexes du graphe « parcelles à moins de
    ``distance_m`` l'une de l'autre » (Lambert-93). Un îlot urbain est un ensemble de parcelles contiguës bordé par
    le domaine public non cadastré (voies, places) ; numéros dans l'ordre de la première parcelle de chaque îlot."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(parcelles)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    geometries = _parcelles_lambert93(parcelles, 0.0)
    gauche, droite = shapely.STRtree(geometries).query(geometries, predicate="dwithin", distance=float(distance_m))
    graphe = coo_matrix((np.ones(len(gauche), dtype=np.int8), (gauche, droite)), shape=(n, n))
    _, etiquettes = connected_components(graphe, directed=False)
    premiere = pd.Series(np.arange(n)).groupby(etiquettes).min()  # renumérotation stable
    rang = pd.Series(np.arange(len(premiere)), index=premiere.sort_values().index)
    return rang.reindex(etiquettes).to_numpy(np.int64)


def agreger_potentiel_ilots(potentiel: pd.DataFrame, criteres: pd.DataFrame, ilots: np.ndarray,
                            regles: Mapping[str, float]) -> pd.DataFrame:
    """Potentiel de chaque îlot, à partir de celui de ses parcelles (mêmes lignes, même ordre) ::

        score_îlot = Σ_i score_i × S_i / Σ_i S_i     (parcelles au score connu ; une parcelle exclue compte 0)

    où S_i est la surface de la parcelle (m²) ; classe par les mêmes seuils, « exclu » si toutes les parcelles le
    sont, « inconnu » si aucun score n'est connu. ``criteres`` donne ``surface_parcelle`` et
    ``surface_impermeable_non_batie_parcelle`` (m², le gisement)."""
    if not len(potentiel):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLONNES_ILOTS})
    table = pd.DataFrame({
        "ilot": np.asarray(ilots), "code_insee": potentiel["code_insee"].to_numpy(),
        "surface": criteres["surface_parcelle"].to_numpy(float),
        "gisement": pd.to_numeric(criteres["surface_impermeable_non_batie_parcelle"], errors="coerce").to_numpy(),
        "score": pd.to_numeric(potentiel["score_potentiel"], errors="coerce").to_numpy(),
        "exclue": potentiel["classe_potentiel"].eq("exclu").to_numpy(bool)})
    connu = table["score"].notna()
    table["pondere"] = np.where(connu, table["score"].fillna(0) * table["surface"], 0.0)
    table["surface_connue"] = np.where(connu, table["surface"], 0.0)
    groupes = table.groupby("ilot", sort=True)
    ilots_table = pd.DataFrame({
        "code_insee": groupes["code_insee"].first(), "nombre_parcelles": groupes.size(),
        "surface_ilot": groupes["surface"].sum(), "surface_impermeable_non_batie_ilot": groupes["gisement"].sum(),
        "pondere": groupes["pondere"].sum(), "surface_connue": groupes["surface_connue"].sum(),
        "nombre_exclues": groupes["exclue"].sum().astype(int)})
    score = ilots_table["pondere"] / ilots_table["surface_connue"].where(ilots_table["surface_connue"] > 0)
    ilots_table["score_potentiel"] = score
    toutes_exclues = ilots_table["nombre_exclues"].eq(ilots_table["nombre_parcelles"])
    ilots_table["classe_potentiel"] = [
        "exclu" if exclu else ("inconnu" if math.isnan(s) else classer_score(s, regles))
        for s, exclu in zip(score.to_numpy(float), toutes_exclues)]
    ilots_table["motifs"] = [
        f"{formater_nombre(n)} parcelle(s) ; gisement {formater_nombre(g, 0, 'm²')}"
        + (f" ; {formater_nombre(x)} parcelle(s) exclue(s) (voir leurs motifs)" if x else "")
        for n, g, x in zip(ilots_table["nombre_parcelles"], ilots_table["surface_impermeable_non_batie_ilot"].fillna(0),
                           ilots_table["nombre_exclues"])]
    ilots_table = ilots_table.reset_index()
    return ilots_table[COLONNES_ILOTS]
