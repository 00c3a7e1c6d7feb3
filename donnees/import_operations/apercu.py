"""Préparation d'un import : lignes → opérations au format du magasin, erreurs par ligne, aperçu."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from donnees.import_operations.controles import (
    _controler_chevauchements,
    _controler_doublons,
    _controler_operation,
)
from donnees.import_operations.correspondance import (
    CHAMPS_IMPORT,
    CHAMPS_OBLIGATOIRES,
    CHAMPS_ZONE,
    _verifier_correspondance,
    proposer_correspondance,
)
from donnees.import_operations.preparation import (
    _Ligne,
    _lignes_table,
    _Operation,
    _Preparation,
)
from donnees.import_operations.protocoles import (
    Droits,
    LectureZones,
    Verificateur,
    autoriser_creation,
    est_facade,
    lire_au_mieux,
)
from donnees.import_operations.tables import ApercuImport, TableImportee
from donnees.import_operations.valeurs import _normaliser, _texte
from donnees.magasin import verifier_operation
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_STOCKAGE
from donnees.modele_operation import CHAMPS_SCALAIRES


def _resoudre_verificateur(magasin: Any) -> Verificateur:
    """Règles du magasin : méthode ``verifier_operation`` de la cible, fonction donnée, ou celles du magasin."""
    if magasin is None:
        return verifier_operation
    methode = getattr(magasin, "verifier_operation", None)
    if callable(methode):
        return methode
    if callable(magasin) and not hasattr(magasin, "creer_operation"):
        return magasin
    return verifier_operation


def preparer_import(table: TableImportee, correspondance: Mapping[str, Any] | None = None,
                    parcelles: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame] | None = None,
                    communes: gpd.GeoDataFrame | None = None, commune_par_defaut: str | None = None, *,
                    magasin: Any = None, zones_existantes: gpd.GeoDataFrame | None = None,
                    localiser_au_centroide: bool = False, corriger_geometries: bool = False,
                    revetements_par_defaut: tuple[str, str] | None = None,
                    correspondance_zones: Mapping[str, Any] | None = None) -> ApercuImport:
    """Construit les opérations (format du magasin) et la table des erreurs, sans rien écrire.

    ``correspondance`` : champ → colonne (``None`` : :func:`proposer_correspondance`) ;
    ``parcelles`` : cadastre Etalab (id, commune, prefixe, section, numero, géométrie), ou fonction
    sans argument qui le renvoie (appelée seulement si le fichier cite des parcelles) ;
    ``communes`` (code_insee, nom, géométrie) : contrôles de localisation, noms de communes,
    commune déduite de la géométrie et ``localiser_au_centroide`` ; ``magasin`` : Magasin, façade ou
    fonction ``verifier(operation, contexte)`` qui applique les règles du magasin (et fournit les
    zones déjà enregistrées par ``lire_zones`` si ``zones_existantes`` n'est pas donné) ;
    ``corriger_geometries`` : make_valid + avertissement au lieu d'une erreur ;
    ``revetements_par_defaut`` : (avant, après) pour les zones qui n'en donnent pas.
    """
    if correspondance is None:
        correspondance = proposer_correspondance(table)
    correspondance = _verifier_correspondance(table, correspondance)
    zones_table = table.zones
    if zones_table is not None:
        if correspondance_zones is None:
            correspondance_zones = proposer_correspondance(zones_table, CHAMPS_ZONE)
        correspondance_zones = _verifier_correspondance(zones_table, correspondance_zones)
    if zones_existantes is None and isinstance(magasin, LectureZones):
        zones_existantes = lire_au_mieux(magasin.lire_zones, "zones déjà enregistrées")
    p = _Preparation(table, correspondance, parcelles, communes, commune_par_defaut, magasin,
                     zones_existantes, localiser_au_centroide, corriger_geometries, revetements_par_defaut,
                     correspondance_zones)
    lignes = _lire_lignes(p, table, correspondance)
    champs_absents = _signaler_colonnes(p, table, correspondance, lignes)
    operations = _regrouper(p, lignes)
    if zones_table is not None:
        _rattacher_zones(p, table, zones_table, correspondance_zones, operations)
    for operation in operations:
        p.budget.verifier()
        _controler_operation(p, operation, champs_absents)
    _controler_chevauchements(p, operations)
    _controler_doublons(p, operations, magasin)
    if est_facade(magasin):
        _controler_droits(p, operations, magasin)
    return _assembler(p, operations, _resoudre_verificateur(magasin), correspondance)


def _message(table: TableImportee, feuille: str | None, champ: str | None, niveau: str, texte: str) -> dict:
    """Message sans numéro de ligne (fichier, feuille ou colonnes)."""
    return {"fichier": table.nom_fichier, "feuille": feuille, "ligne": None, "champ": champ, "niveau": niveau,
            "message": texte}


def _lire_lignes(p: _Preparation, table: TableImportee, correspondance: dict[str, str]) -> list[_Ligne]:
    """Lignes de la feuille principale, avec les messages de lecture du fichier."""
    for texte in table.avertissements:
        p.messages.append(_message(table, None, None, "avertissement", texte))
    lignes = _lignes_table(table, correspondance, principale=True)
    par_numero = {l.numero: l for l in lignes}
    for probleme in table.problemes:
        ligne = par_numero.get(probleme["ligne"])
        p.messages.append({"fichier": table.nom_fichier, "feuille": table.feuille, **probleme})
        if ligne is not None and probleme["niveau"] == "erreur":
            ligne.erreur = True
    return lignes


def _signaler_colonnes(p: _Preparation, table: TableImportee, correspondance: dict[str, str],
                       lignes: list[_Ligne]) -> list[str]:
    """Champs obligatoires sans colonne (renvoyés), colonnes ignorées, fichier sans ligne."""
    champs_absents = [c for c in CHAMPS_OBLIGATOIRES if c not in correspondance]
    for champ in champs_absents:
        p.messages.append(_message(
            table, table.feuille, champ, "erreur",
            f"{table.nom_fichier}{', feuille « ' + table.feuille + ' »' if table.feuille else ''} : "
            f"aucune colonne pour le champ obligatoire « {CHAMPS_IMPORT[champ]} » ({champ}), toutes "
            f"les lignes sont refusées. Ajoutez une colonne « {champ} » ou choisissez-la dans la "
            "correspondance des colonnes."))
    ignorees = [c for c in table.colonnes if c not in correspondance.values()]
    if ignorees and len(table):
        p.messages.append(_message(
            table, table.feuille, "colonnes", "avertissement",
            f"{table.nom_fichier} : colonne(s) ignorée(s), sans champ correspondant : {', '.join(ignorees)}. "
            "Choisissez leur champ dans la correspondance si elles doivent être importées."))
    if not lignes:
        p.messages.append(_message(table, table.feuille, None, "erreur",
                                   f"{table.nom_fichier} : aucune ligne de données."))
    return champs_absents


def _cle(ligne: _Ligne, champs: dict[str, Any]) -> tuple:
    """Clé de regroupement : colonne « clé », sinon même nom et même commune, sinon la ligne seule."""
    cle_brute = _texte(ligne.valeurs.get("cle_operation"))
    if cle_brute:
        return ("cle", _normaliser(cle_brute) or cle_brute)
    if champs.get("nom"):
        return ("nom", _normaliser(champs["nom"]), champs.get("code_insee"))
    return ("ligne", ligne.numero)


def _regrouper(p: _Preparation, lignes: list[_Ligne]) -> list[_Operation]:
    """Regroupe les lignes de même clé en opérations (champs pris sur la première ligne qui les donne)."""
    operations: list[_Operation] = []
    par_cle: dict[tuple, _Operation] = {}
    for ligne in lignes:
        champs = p.lire_operation(ligne)
        cle = _cle(ligne, champs)
        operation = par_cle.get(cle)
        if operation is None:
            operation = _Operation(cle, [ligne], champs, sources={c: ligne for c, v in champs.items()
                                                                  if v is not None})
            par_cle[cle] = operation
            operations.append(operation)
        else:
            operation.lignes.append(ligne)
            for champ, valeur in champs.items():
                if valeur is None:
                    continue
                actuelle = operation.champs.get(champ)
                if actuelle is None:
                    operation.champs[champ] = valeur
                    operation.sources[champ] = ligne
                elif actuelle != valeur and not champ.startswith("_"):
                    source = operation.sources[champ]
                    p.avertir(ligne, champ, "valeur différente de celle donnée pour la même opération "
                              f"({p.repere(source)}) : la première est gardée")
        zone = p.lire_zone(ligne)
        if zone is not None:
            operation.zones.append(zone)
    return operations


def _rattacher_zones(p: _Preparation, table: TableImportee, zones_table: TableImportee,
                     correspondance_zones: dict[str, str], operations: list[_Operation]) -> None:
    """Feuille « zones » du modèle XLSX : chaque zone rejoint l'opération de même clé."""
    par_cle_brute = {}
    for operation in operations:
        cle_brute = _texte(operation.premiere.valeurs.get("cle_operation"))
        if cle_brute:
            par_cle_brute.setdefault(_normaliser(cle_brute) or cle_brute, operation)
    for ligne in _lignes_table(zones_table, correspondance_zones, principale=False):
        cle_brute = _texte(ligne.valeurs.get("cle_operation"))
        if not cle_brute:
            p.erreur(ligne, "cle_operation", "clé de l'opération manquante : recopiez la clé de la feuille "
                     f"« {table.feuille} »")
            continue
        operation = par_cle_brute.get(_normaliser(cle_brute) or cle_brute)
        if operation is None:
            p.erreur(ligne, "cle_operation", f"clé « {cle_brute} » absente de la feuille « {table.feuille} » "
                     ": ajoutez l'opération ou corrigez la clé")
            continue
        zone = p.lire_zone(ligne)
        if zone is None:
            p.erreur(ligne, "geometrie_wkt", "ni géométrie (WKT) ni références cadastrales : renseignez "
                     "l'une des deux")
            continue
        operation.zones.append(zone)


def _controler_droits(p: _Preparation, operations: list[_Operation], facade: Droits) -> None:
    """Refuse les opérations d'une commune où la façade ne permet pas de créer (un refus ou une erreur refuse)."""
    for operation in operations:
        code = operation.champs.get("code_insee")
        if code and not operation.en_erreur() and not autoriser_creation(facade, code):
            p.erreur(operation.premiere, "code_insee", f"vous n'avez pas le droit de créer une opération dans "
                     f"la commune {code}. Retirez cette ligne ou demandez l'accès à un administrateur")


def _appliquer_regles(p: _Preparation, operation: _Operation, dictionnaire: dict, verifier: Verificateur) -> None:
    """Règles du magasin sur une opération sans erreur ; un refus est rapporté à la ligne de sa zone."""
    contexte = f"{p.table.nom_fichier}, {p.unite(None)} {operation.premiere.numero}"
    try:
        verifier(dictionnaire, contexte)
    except ErreurDonnees as exc:
        ligne = operation.premiere
        if m := re.search(r"zone n° (\d+)", str(exc)):
            rang_zone = int(m[1]) - 1
            if 0 <= rang_zone < len(operation.zones):
                ligne = operation.zones[rang_zone].ligne
        p.messages.append({"fichier": p.table.nom_fichier, "feuille": ligne.feuille, "ligne": ligne.numero,
                           "champ": exc.colonne, "niveau": "erreur", "message": str(exc), "regle": None})
        ligne.erreur = True


def _assembler(p: _Preparation, operations: list[_Operation], verifier: Verificateur,
               correspondance: dict[str, str]) -> ApercuImport:
    """Dictionnaires du magasin, règles du magasin, table des messages triée par ligne et aperçu."""
    table = p.table
    valides, lignes_valides, lignes_erreur, lignes_par_op, apercu_lignes = [], [], [], [], []
    for rang, operation in enumerate(operations, start=1):
        p.budget.verifier()
        dictionnaire = _dictionnaire(p, operation)
        if not operation.en_erreur():
            _appliquer_regles(p, operation, dictionnaire, verifier)
        numeros = [l.numero for l in operation.lignes]
        if operation.en_erreur():
            lignes_erreur += numeros
        else:
            valides.append(dictionnaire)
            lignes_valides += numeros
            lignes_par_op.append(numeros)
        apercu_lignes.append(_ligne_apercu(rang, operation, dictionnaire))
    erreurs = pd.DataFrame(p.messages, columns=["fichier", "feuille", "ligne", "champ", "niveau", "message",
                                                "regle"])
    erreurs["ligne"] = erreurs["ligne"].astype("Int64")
    if len(erreurs):
        erreurs = erreurs.assign(_ordre=erreurs["ligne"].fillna(-1).astype(int)) \
            .sort_values(["_ordre"], kind="stable").drop(columns="_ordre").reset_index(drop=True)
    apercu = gpd.GeoDataFrame(pd.DataFrame(apercu_lignes, columns=_COLONNES_APERCU),
                              geometry="geometry", crs=CRS_STOCKAGE)
    return ApercuImport(nom_fichier=table.nom_fichier, operations=valides, erreurs=erreurs,
                        lignes_valides=sorted(set(lignes_valides)), lignes_en_erreur=sorted(set(lignes_erreur)),
                        apercu=apercu, correspondance=dict(correspondance), nb_operations=len(operations),
                        lignes_operations=lignes_par_op)


def _dictionnaire(p: _Preparation, operation: _Operation) -> dict:
    champs = operation.champs
    ajouts = [champs.get("description")]
    if champs.get("precision_surface"):
        ajouts.append(f"Surface : {champs['precision_surface']}")
    if champs.get("precision_cout"):
        ajouts.append(f"Coût : {champs['precision_cout']}")
    if champs.get("_annee_mentionnee"):
        ajouts.append(f"Année indiquée : {champs['_annee_mentionnee']}")
    if champs.get("_texte_financeurs"):
        ajouts.append(f"Financeurs : {champs['_texte_financeurs']}")
    description = "\n".join(a for a in ajouts if a) or None
    source = champs.get("source")
    if source and champs.get("type_source"):
        source = f"{source} ({champs['type_source']})"
    source = source or champs.get("type_source") or \
        f"Fichier importé « {p.table.nom_fichier} » ({p.repere(operation.premiere)})"
    parcelles = list(dict.fromkeys(i for z in operation.zones for i in z.parcelles))
    dictionnaire = {
        "code_insee": champs.get("code_insee"),
        "nom": champs.get("nom"),
        "type_site": champs.get("type_site"),
        "statut": champs.get("statut"),
        "date_fin_travaux": champs.get("date_fin_travaux"),
        "maitre_ouvrage": champs.get("maitre_ouvrage"),
        "description": description,
        "retour_experience": champs.get("retour_experience"),
        "contact": champs.get("contact"),
        "cout_ht_eur": champs.get("cout_ht_eur"),
        "arbres_plantes": champs.get("arbres_plantes") or 0,
        "deconnexion_reseau": bool(champs.get("deconnexion_reseau") or False),
        "volume_stockage_m3": champs.get("volume_stockage_m3"),
        "parcelles": parcelles,
        "surface_declaree_m2": champs.get("surface_declaree_m2"),
        "localisation_approximative": any(z.emplacement for z in operation.zones),
        "source": source,
        "zones": [{"geometrie": z.geometrie, "revetement_avant": z.avant, "revetement_apres": z.apres}
                  for z in operation.zones],
        "financements": [dict(f) for f in (champs.get("financements") or [])],
    }
    # Champs déclarés dans le modèle de l'opération sans traitement particulier ci-dessus (un champ ajouté).
    dictionnaire.update({nom: champs[nom] for nom in CHAMPS_SCALAIRES if nom in champs and nom not in dictionnaire})
    return dictionnaire


_COLONNES_APERCU = ["operation", "lignes", "etat", "nom", "code_insee", "type_site", "statut",
                    "date_fin_travaux", "cout_ht_eur", "aides_eur", "nb_zones", "surface_m2",
                    "surface_declaree_m2", "localisation_approximative", "geometry"]


def _total_aides(financements: list[dict]) -> float | None:
    """Somme des aides déclarées (€) ; None (« non renseigné ») sans aucune ligne d'aide, jamais un faux 0."""
    return float(sum(f["montant_eur"] for f in financements)) if financements else None


def _ligne_apercu(rang: int, operation: _Operation, dictionnaire: dict) -> list:
    geometries = [z.geometrie for z in operation.zones if z.geometrie is not None]
    surfaces = [z.l93.area for z in operation.zones if z.l93 is not None and not z.emplacement]
    return [rang, ", ".join(str(l.numero) for l in operation.lignes),
            "erreur" if operation.en_erreur() else "valide", dictionnaire["nom"], dictionnaire["code_insee"],
            dictionnaire["type_site"], dictionnaire["statut"], dictionnaire["date_fin_travaux"],
            dictionnaire["cout_ht_eur"], _total_aides(dictionnaire["financements"]),
            len(operation.zones), float(sum(surfaces)) if surfaces else None,
            dictionnaire["surface_declaree_m2"], dictionnaire["localisation_approximative"],
            shapely.union_all(geometries) if geometries else None]


