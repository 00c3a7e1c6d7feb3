"""Contrôles d'une opération préparée : commune, champs obligatoires, dates, zones, chevauchements, doublons."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import shapely

from donnees import nomenclatures
from donnees.import_operations.correspondance import CHAMPS_OBLIGATOIRES
from donnees.geometrie import vers_lambert93, vers_wgs84
from donnees.import_operations.preparation import (
    MOTIF_ID_PARCELLE,
    _Operation,
    _Preparation,
    _Zone,
)
from donnees.import_operations.protocoles import LectureOperations, lire_au_mieux
from donnees.import_operations.seuils import (
    COTE_EMPLACEMENT_M,
    ECART_SURFACE_DECLAREE,
    REVETEMENT_EMPLACEMENT,
)
from donnees.import_operations.valeurs import (
    _annee_seule,
    _est_vide,
    _euros,
    _m2,
    _normaliser,
)
from donnees.zones import controler_chevauchements, controler_chevauchements_enregistrees, controler_mesures


def _controler_operation(p: _Preparation, operation: _Operation, champs_absents: list[str]) -> None:
    """Tous les contrôles d'une opération : commune, champs, dates, coût, zones et surfaces."""
    if champs_absents:
        operation.invalide = True
    code = _deduire_commune(p, operation)
    operation.champs["code_insee"] = code
    _controler_obligatoires(p, operation, champs_absents)
    _controler_annee(p, operation)
    _controler_dates_et_montants(p, operation)
    for zone in operation.zones:
        p.resoudre_parcelles(operation, zone, code)
    if not operation.zones:
        _placer_sans_zone(p, operation, code)
    _controler_surfaces(p, operation, code)


def _deduire_commune(p: _Preparation, operation: _Operation) -> str | None:
    """Commune : valeur lue, commune par défaut, identifiants cadastraux, puis géométrie."""
    champs, premiere = operation.champs, operation.premiere
    code = champs.get("code_insee")
    erreur_commune = any(l.erreur and not _est_vide(l.valeurs.get("code_insee")) for l in operation.lignes)
    if code is not None or erreur_commune:
        return code
    if p.commune_defaut:
        return p.commune_defaut
    for zone in operation.zones:
        for reference in re.split(r"[,;+\s]+", str(zone.ligne.valeurs.get("parcelles") or "").upper()):
            if m := MOTIF_ID_PARCELLE.match(reference):
                return m[1]
    if p.communes_l93:
        geometries = [z.geometrie for z in operation.zones if z.geometrie is not None]
        if geometries:
            code = p.commune_de(vers_lambert93(shapely.union_all(geometries)))
            if code:
                p.avertir(premiere, "code_insee", f"code INSEE absent : commune {code} déduite de la "
                          "géométrie. Vérifiez-la")
                return code
    p.erreur(premiere, "code_insee", "obligatoire. Indiquez le code INSEE à 5 caractères (ex. 34301), "
             "ou choisissez une commune par défaut pour tout le fichier")
    return None


def _controler_obligatoires(p: _Preparation, operation: _Operation, champs_absents: list[str]) -> None:
    """Nom, type de site et statut : obligatoires (sauf colonne absente, déjà signalée pour tout le fichier)."""
    champs = operation.champs
    for champ in CHAMPS_OBLIGATOIRES:
        if champ in champs_absents:
            continue
        if champs.get(champ) is None and not any(l.erreur and not _est_vide(l.valeurs.get(champ))
                                                 for l in operation.lignes):
            aide = {"nom": "Donnez un nom à l'opération (ex. « Cour de l'école Jules-Ferry »)",
                    "type_site": "Valeurs possibles : " + ", ".join(p.noms["type_site"].libelles),
                    "statut": "Valeurs possibles : " + ", ".join(p.noms["statut"].libelles)}[champ]
            p.erreur(operation.premiere, champ, f"obligatoire. {aide}")


def _controler_annee(p: _Preparation, operation: _Operation) -> None:
    """Année seule : date de fin au 31/12 (réalisée ou à venir), sinon simple mention dans la description."""
    champs = operation.champs
    annee = champs.get("_annee")
    if annee is None or champs.get("date_fin_travaux") is not None or champs.get("statut") is None:
        return
    ligne = operation.sources.get("_annee", operation.premiere)
    if champs["statut"] == "realisee" or annee >= date.today().year:
        champs["date_fin_travaux"], avertissement = _annee_seule(annee)
        p.avertir(ligne, "annee", avertissement)
    else:
        champs["_annee_mentionnee"] = annee
        p.avertir(ligne, "annee", f"année {annee} passée pour une opération "
                  f"« {nomenclatures.STATUTS[champs['statut']].lower()} » : ce n'est pas une date de fin "
                  f"prévue, elle est seulement notée dans la description (« Année indiquée : {annee} »). "
                  "Indiquez la date de fin prévue si vous la connaissez")


def _controler_dates_et_montants(p: _Preparation, operation: _Operation) -> None:
    """Coût TTC, date d'une opération réalisée (obligatoire, pas dans le futur), total des aides ≤ coût."""
    champs, premiere = operation.champs, operation.premiere
    if champs.get("cout_ht_eur") is not None and "ttc" in _normaliser(champs.get("precision_cout")).split("_"):
        ligne = operation.sources.get("precision_cout", premiere)
        p.avertir(ligne, "precision_cout", f"coût indiqué TTC ({_euros(champs['cout_ht_eur'])}) : il est enregistré "
                  "tel quel comme coût HT, sans conversion. Corrigez-le si vous connaissez le montant HT")
    if champs.get("statut") == "realisee" and champs.get("date_fin_travaux") is None \
            and not any(l.erreur and not _est_vide(l.valeurs.get("date_fin_travaux")) for l in operation.lignes):
        p.erreur(premiere, "date_fin_travaux", "obligatoire quand l'opération est réalisée, et jamais inventée : "
                 "la ligne n'est pas importée. Indiquez la date de fin des travaux (jj/mm/aaaa) ou au moins "
                 "l'année, ou un autre statut si les travaux ne sont pas terminés")
    if champs.get("statut") == "realisee" and champs.get("date_fin_travaux") \
            and champs["date_fin_travaux"] > date.today():
        p.avertir(premiere, "date_fin_travaux", f"date {champs['date_fin_travaux'].strftime('%d/%m/%Y')} dans "
                  "le futur pour une opération réalisée. Vérifiez la date ou le statut")
    financements = champs.get("financements") or []
    total = sum(f["montant_eur"] for f in financements)
    if financements and champs.get("cout_ht_eur") is not None and total > champs["cout_ht_eur"] + 0.005:
        ligne = operation.sources.get("financements", premiere)
        p.erreur(ligne, "financements", f"le total des aides ({_euros(total)}) dépasse le coût HT "
                 f"({_euros(champs['cout_ht_eur'])}). Corrigez les montants ou le coût")


def _placer_sans_zone(p: _Preparation, operation: _Operation, code: str | None) -> None:
    """Opération sans zone : erreur, ou carré approximatif au centre de sa commune (si demandé)."""
    premiere = operation.premiere
    if not p.localiser:
        p.erreur(premiere, "geometrie", "aucune zone : ni géométrie, ni références cadastrales. Ajoutez "
                 "une colonne WKT ou « parcelles », une ligne dans la feuille « zones », ou choisissez de "
                 "localiser les opérations sans géométrie au centre de leur commune")
    elif not p.communes_l93:
        p.erreur(premiere, "geometrie", "aucune géométrie, et la couche des communes n'est pas chargée pour "
                 "placer l'opération au centre de sa commune. Chargez le référentiel ou ajoutez une géométrie")
    elif code is None:
        operation.invalide = True  # erreur déjà signalée sur le code INSEE
    elif code not in p.communes_l93:
        p.erreur(premiere, "code_insee", f"commune {code} absente de la couche des communes : impossible de "
                 "placer l'opération au centre de sa commune. Vérifiez le code INSEE ou ajoutez une géométrie")
    else:
        carre = p.emplacement(code)
        zone = _Zone(premiere, vers_wgs84(carre), REVETEMENT_EMPLACEMENT, REVETEMENT_EMPLACEMENT,
                     emplacement=True, l93=carre)
        operation.zones.append(zone)
        p.avertir(premiere, "geometrie", "aucune géométrie : opération placée au centre de la commune "
                  f"{code} (carré de {COTE_EMPLACEMENT_M:.0f} m, localisation approximative, surface non "
                  "comptée). Dessinez son contour plus tard dans le formulaire")


def _controler_surfaces(p: _Preparation, operation: _Operation, code: str | None) -> None:
    """Surfaces des zones (minuscule, très grande), part hors de la commune, écart à la surface déclarée."""
    surface_totale = 0.0
    for zone in operation.zones:
        if zone.geometrie is None or zone.emplacement:
            continue
        zone.l93 = vers_lambert93(zone.geometrie)
        surface_totale += zone.l93.area
        commune = p.communes_l93.get(code) if code else None
        for constat in controler_mesures(zone.l93, "", commune, code or "", "import"):
            p.constater(zone.ligne, zone.champ, constat)
    declaree = operation.champs.get("surface_declaree_m2")
    if declaree and surface_totale > 0 and not any(z.emplacement for z in operation.zones) \
            and abs(surface_totale - declaree) > ECART_SURFACE_DECLAREE * declaree:
        ligne = operation.sources.get("surface_declaree_m2", operation.premiere)
        p.avertir(ligne, "surface_declaree_m2", f"surface déclarée ({_m2(declaree)}) éloignée de plus de 10 % "
                  f"de la surface dessinée ({_m2(surface_totale)}). Les indicateurs utilisent la surface dessinée")


def _controler_chevauchements(p: _Preparation, operations: list[_Operation]) -> None:
    """Zones du fichier qui se chevauchent, ou qui chevauchent une opération déjà enregistrée."""
    zones = [(o, z) for o in operations for z in o.zones if z.l93 is not None and not z.emplacement
             and z.l93.is_valid and z.l93.area > 0]
    if not zones:
        return
    geometries = [z.l93 for _, z in zones]

    def nommer(i: int, j: int) -> str:
        quoi = "une autre zone de la même opération" if zones[i][0] is zones[j][0] else \
            "une autre opération du fichier"
        return f"{quoi} ({p.repere(zones[i][1].ligne)})"

    libelles = [""] * len(zones)
    constats = controler_chevauchements(geometries, libelles, "import", nommer) + \
        controler_chevauchements_enregistrees(geometries, libelles, p.zones_existantes, "import")
    for constat in constats:
        zone = zones[constat.rang - 1][1]
        p.constater(zone.ligne, zone.champ, constat)


def _controler_doublons(p: _Preparation, operations: list[_Operation], magasin: Any) -> None:
    """Refuse une opération déjà enregistrée (même commune, même nom) : réimporter un fichier ne crée
    pas de doublons ; en « lignes valides », seules les nouvelles lignes sont écrites."""
    if not isinstance(magasin, LectureOperations):
        return
    existantes = lire_au_mieux(magasin.lire_operations, "opérations déjà enregistrées")
    if existantes is None or not len(existantes) or not {"code_insee", "nom"} <= set(existantes.columns):
        return
    ids = existantes["id"].tolist() if "id" in existantes.columns else [None] * len(existantes)
    deja: dict[tuple[str, str], Any] = {}
    for identifiant, code, nom in zip(ids, existantes["code_insee"].astype(str), existantes["nom"]):
        deja.setdefault((code, _normaliser(nom)), identifiant)
    for operation in operations:
        code, nom = operation.champs.get("code_insee"), operation.champs.get("nom")
        if operation.en_erreur() or not code or not nom or (code, _normaliser(nom)) not in deja:
            continue
        identifiant = deja[(code, _normaliser(nom))]
        numero = f"n° {identifiant}, " if identifiant is not None else ""
        p.erreur(operation.premiere, "nom", f"opération déjà enregistrée ({numero}« {nom} », commune {code}) : la "
                 "ligne n'est pas importée une seconde fois. Si c'est une autre opération, donnez-lui un nom "
                 "distinct ; sinon modifiez la fiche existante")


