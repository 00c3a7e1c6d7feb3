"""Opérations du magasin : création, import par lot, modification avec verrouillage optimiste,
suppression logique et restauration, lectures (opérations, zones, financements, photos, journal).

Toute écriture d'une opération (avec ses zones, financements et photos) se fait en **une** transaction,
avec exactement une ligne de journal par changement. Les surfaces des zones sont calculées en
Lambert-93 (EPSG:2154) à l'écriture, jamais fournies par l'utilisateur.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from donnees.magasin.convertisseurs import (
    _erreur,
    _est_absent,
    _verifier_auteur,
    _verifier_identifiant,
    lire_resultat,
)
from donnees.magasin.journal import _jsonable, _ligne_journal, _maintenant
from donnees.magasin.notifications import notifier_decision_validation
from donnees.magasin.tables import (
    table_financement,
    table_journal,
    table_operation,
    table_photo,
    table_zone,
)
from donnees.modele_operation import (
    CHAMPS_CREATION,
    CHAMPS_LECTURE_SEULE,
    CHAMPS_LISTES,
    CHAMPS_SCALAIRES,
    verifier_operation,
)
from donnees.erreurs import ErreurDonnees
from donnees.geometrie import CRS_STOCKAGE, aires_lambert93

journal_technique = logging.getLogger(__name__)

TAILLE_PAQUET_IMPORT = 250
# Jeton de soumission : uuid du formulaire (ou tout identifiant opaque de 8 à 64 caractères sûrs).
MOTIF_JETON = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PRECISION_WKT = 8  # décimales de degré gardées dans le journal (≈ 1 mm)


# ---------------------------------------------------------------------------------------- exceptions


class OperationIntrouvable(ErreurDonnees):
    """Aucune opération ne porte cet identifiant."""

    def __init__(self, operation_id: int):
        super().__init__(f"L'opération n° {operation_id} n'existe pas. Vérifiez son numéro ou rechargez "
                         "la liste des opérations.", "operation", "id", [operation_id])
        self.operation_id = operation_id


class ConflitVersion(ErreurDonnees):
    """L'opération a changé depuis sa lecture (verrouillage optimiste)."""

    def __init__(self, operation_id: int, version_actuelle: int, version_attendue: int):
        if version_actuelle > version_attendue:
            message = (f"L'opération n° {operation_id} a été modifiée par quelqu'un d'autre depuis que vous "
                       f"l'avez ouverte (version {version_actuelle}, vous aviez la {version_attendue}). "
                       "Rechargez-la avant d'enregistrer.")
        else:
            message = (f"L'opération n° {operation_id} est en version {version_actuelle}, pas en version "
                       f"{version_attendue}. Rechargez-la avant d'enregistrer.")
        super().__init__(message, "operation", "version", [operation_id])
        self.operation_id = operation_id
        self.version_actuelle = version_actuelle
        self.version_attendue = version_attendue


# ------------------------------------------------------------------------------------ géométries


def _tableau(geometries: Sequence) -> np.ndarray:
    tableau = np.empty(len(geometries), dtype=object)
    tableau[:] = list(geometries)
    return tableau


def _wkb_en_geometries(valeurs: Sequence) -> np.ndarray:
    return shapely.from_wkb(_tableau(valeurs)) if len(valeurs) else np.empty(0, dtype=object)


def _verifier_jeton(jeton: Any) -> str | None:
    """Jeton de soumission nettoyé (``None`` : pas de jeton) ; refus en français s'il est mal formé."""
    if jeton is None:
        return None
    if not isinstance(jeton, str) or not MOTIF_JETON.match(jeton.strip()):
        raise ErreurDonnees("Jeton de soumission illisible : rechargez la page « Saisir une opération » "
                            "(8 à 64 lettres, chiffres, « - » ou « _ » attendus).", "operation", "jeton_soumission")
    return jeton.strip()


# ------------------------------------------------------------------------- résumés et comparaisons


def _resumer(propre: dict, surfaces: Sequence[float], wkts: Sequence[str]) -> dict:
    """Résumé JSON d'une opération nettoyée (champs, zones, financements, photos)."""
    resume = {champ: _jsonable(propre[champ]) for champ in CHAMPS_SCALAIRES}
    resume["parcelles"] = list(propre["parcelles"])
    resume["zones"] = [
        {"revetement_avant": z["revetement_avant"], "revetement_apres": z["revetement_apres"],
         "surface_m2": round(float(s), 2), "geometrie": str(w)}
        for z, s, w in zip(propre["zones"], surfaces, wkts)
    ]
    resume["financements"] = [{"financeur": f["financeur"], "montant_eur": f["montant_eur"]}
                              for f in propre["financements"]]
    resume["photos"] = [{"moment": p["moment"], "chemin": p["chemin"], "legende": p["legende"]}
                        for p in propre["photos"]]
    return resume

def _ligne_operation(propre: dict) -> dict:
    ligne = {champ: propre[champ] for champ in CHAMPS_SCALAIRES}
    ligne["parcelles"] = json.dumps(propre["parcelles"])
    return ligne


def _cle_zones(zones: list[dict]) -> list[tuple]:
    return [(shapely.to_wkb(z["geometrie"]), z["revetement_avant"], z["revetement_apres"]) for z in zones]

def _egal(a: Any, b: Any) -> bool:
    """Égalité tolérante : deux absences sont égales, un tableau est égal si tous ses éléments le sont."""
    sequences = (list, tuple, np.ndarray)
    if not isinstance(a, sequences) and not isinstance(b, sequences) and _est_absent(a) and _est_absent(b):
        return True
    try:
        resultat = a == b
        return bool(resultat) if not isinstance(resultat, np.ndarray) else bool(resultat.all())
    except (TypeError, ValueError) as exc:  # comparaison impossible : différent
        journal_technique.debug("Comparaison impossible (%s) : valeurs tenues pour différentes.", exc)
        return False


def _fusionner_saisie(actuelle: dict, modifications: Mapping, contexte: str) -> dict:
    """Saisie complète après modification ; refuse un champ inconnu ou géré par l'application qui change."""
    saisie = {champ: actuelle[champ] for champ in CHAMPS_SCALAIRES + CHAMPS_LISTES}
    for champ, valeur in modifications.items():
        if champ in CHAMPS_LECTURE_SEULE or champ in CHAMPS_CREATION:
            if not _egal(valeur, actuelle.get(champ)):
                raise _erreur(contexte, champ, "non modifiable (géré par l'application).")
            continue
        if champ not in CHAMPS_SCALAIRES + CHAMPS_LISTES:
            raise _erreur(contexte, str(champ), "champ inconnu. Champs modifiables : "
                                                f"{', '.join(CHAMPS_SCALAIRES + CHAMPS_LISTES)}.")
        saisie[champ] = valeur
    return saisie


def _comparer(actuelle: dict, avant: dict, apres: dict) -> tuple[dict, bool, Sequence[float]]:
    """Différences à journaliser, zones changées ou non, surfaces des zones après modification.

    Zones inchangées : ``apres["zones"]`` reprend celles qui sont stockées (surfaces gardées).
    """
    zones_changees = _cle_zones(apres["zones"]) != _cle_zones(avant["zones"])
    surfaces_avant = [z["surface_m2"] for z in actuelle["zones"]]
    geometries_avant = _tableau([z["geometrie"] for z in avant["zones"]])
    wkts_avant = shapely.to_wkt(geometries_avant, rounding_precision=PRECISION_WKT)
    if zones_changees:
        geometries_apres = _tableau([z["geometrie"] for z in apres["zones"]])
        surfaces_apres = aires_lambert93(geometries_apres)
        wkts_apres = shapely.to_wkt(geometries_apres, rounding_precision=PRECISION_WKT)
    else:
        apres["zones"] = avant["zones"]
        surfaces_apres, wkts_apres = surfaces_avant, wkts_avant
    resume_avant = _resumer(avant, surfaces_avant, wkts_avant)
    resume_apres = _resumer(apres, surfaces_apres, wkts_apres)
    diff = {champ: [resume_avant[champ], resume_apres[champ]] for champ in resume_apres
            if resume_avant[champ] != resume_apres[champ]}
    if zones_changees:  # même un déplacement sous la précision du journal est tracé
        diff["zones"] = [resume_avant["zones"], resume_apres["zones"]]
    return diff, zones_changees, surfaces_apres


# --------------------------------------------------------------------------------------- opérations


class OperationsMagasin:
    """Méthodes du magasin pour les opérations (mêlées à :class:`donnees.magasin.Magasin`)."""

    def _inserer_lignes_operation(self, conn: Connection, lignes: list[dict]) -> list[int]:
        if len(lignes) == 1:
            return [int(conn.execute(table_operation.insert(), lignes[0]).inserted_primary_key[0])]
        requete = table_operation.insert().returning(table_operation.c.id, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(requete, lignes).scalars().all()]

    def _inserer_zones(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_zone.insert(), lignes)

    def _inserer_financements(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_financement.insert(), lignes)

    def _inserer_photos(self, conn: Connection, lignes: list[dict]) -> None:
        if lignes:
            conn.execute(table_photo.insert(), lignes)

    def _inserer_operations(self, conn: Connection, propres: list[dict], auteur: str,
                            jeton: str | None = None) -> list[int]:
        """Insère des opérations nettoyées, leurs zones, financements, photos et journal (``jeton`` : jeton de
        soumission d'une création unique)."""
        maintenant = _maintenant()
        lignes = []
        for propre in propres:
            ligne = _ligne_operation(propre)
            ligne.update(cree_par=propre["cree_par"] or auteur, cree_le=propre["cree_le"] or maintenant,
                         version=1, supprimee=False, jeton_soumission=jeton)
            lignes.append(ligne)
        ids = self._inserer_lignes_operation(conn, lignes)

        geometries = _tableau([z["geometrie"] for p in propres for z in p["zones"]])
        surfaces = aires_lambert93(geometries)
        wkts = shapely.to_wkt(geometries, rounding_precision=PRECISION_WKT) if len(geometries) else []
        zones, financements, photos, journal = [], [], [], []
        debut = 0
        for operation_id, propre, ligne in zip(ids, propres, lignes):
            fin = debut + len(propre["zones"])
            for zone, surface in zip(propre["zones"], surfaces[debut:fin]):
                zones.append({"operation_id": operation_id, "geometrie": zone["geometrie"],
                              "revetement_avant": zone["revetement_avant"],
                              "revetement_apres": zone["revetement_apres"], "surface_m2": float(surface)})
            financements += [{"operation_id": operation_id, **f} for f in propre["financements"]]
            photos += [{"operation_id": operation_id, **p, "ajoutee_le": p["ajoutee_le"] or maintenant}
                       for p in propre["photos"]]
            resume = _resumer(propre, surfaces[debut:fin], wkts[debut:fin])
            resume.update(cree_par=ligne["cree_par"], cree_le=_jsonable(ligne["cree_le"]))
            journal.append(_ligne_journal(maintenant, auteur, "creation", "operation", operation_id, resume))
            debut = fin
        self._inserer_zones(conn, zones)
        self._inserer_financements(conn, financements)
        self._inserer_photos(conn, photos)
        self._inserer_journal(conn, journal)
        return ids

    # ---------------------------------------------------------------- écritures des opérations

    def creer_operation(self, operation: Mapping, auteur: str, jeton_soumission: str | None = None) -> int:
        """Crée une opération avec ses zones, financements et photos ; renvoie son identifiant.

        ``jeton_soumission`` (facultatif) : jeton créé à l'ouverture du formulaire. Un second envoi du même
        jeton ne crée rien et renvoie l'opération déjà créée, même si les deux envois sont simultanés
        (index unique ``ix_operation_jeton_soumission``, puis relecture).
        """
        return self.soumettre_operation(operation, auteur, jeton_soumission)[0]

    def soumettre_operation(self, operation: Mapping, auteur: str,
                            jeton_soumission: str | None = None) -> tuple[int, bool]:
        """Comme :meth:`creer_operation` ; renvoie ``(identifiant, créée)``, ``créée`` faux si le jeton avait
        déjà servi (l'opération renvoyée est alors celle du premier envoi)."""
        auteur = _verifier_auteur(auteur)
        jeton = _verifier_jeton(jeton_soumission)
        propre = verifier_operation(operation)
        if jeton is None:
            with self._ecrire() as conn:
                return self._inserer_operations(conn, [propre], auteur)[0], True
        try:
            with self._ecrire() as conn:
                deja = self._retrouver_soumission(conn, jeton, auteur)
                if deja is not None:
                    return deja, False
                return self._inserer_operations(conn, [propre], auteur, jeton)[0], True
        except IntegrityError:
            # Envoi simultané du même jeton (PostgreSQL) : l'autre transaction a gagné, on relit la sienne.
            with self._lire() as conn:
                deja = self._retrouver_soumission(conn, jeton, auteur)
            if deja is None:
                raise
            return deja, False

    def _retrouver_soumission(self, conn: Connection, jeton: str, auteur: str) -> int | None:
        """Opération déjà créée avec ce jeton (par ce même auteur), ou ``None``."""
        ligne = conn.execute(select(table_operation.c.id, table_operation.c.cree_par)
                             .where(table_operation.c.jeton_soumission == jeton)).first()
        if ligne is None:
            return None
        if ligne.cree_par != auteur:
            raise ErreurDonnees("Ce formulaire a déjà servi à enregistrer une opération d'un autre compte : "
                                "rechargez la page « Saisir une opération » pour en ouvrir un nouveau.",
                                "operation", "jeton_soumission")
        return int(ligne.id)

    def importer_lot(self, operations: Sequence[Mapping], auteur: str,
                     progression: Callable[[int, int], Any] | None = None) -> list[int]:
        """Insère un lot d'opérations en une transaction ; renvoie leurs identifiants dans l'ordre.

        ``progression(n_faites, n_total)`` est appelée après chaque paquet. Le lot entier est vérifié
        avant la moindre écriture.
        """
        auteur = _verifier_auteur(auteur)
        if isinstance(operations, (str, bytes, Mapping)) or not isinstance(operations, Iterable):
            raise ErreurDonnees("Lot d'opérations : liste de dictionnaires attendue.", "operation")
        operations = list(operations)
        propres = []
        for rang, operation in enumerate(operations, start=1):
            nom = operation.get("nom") if isinstance(operation, Mapping) else None
            contexte = f"Opération n° {rang} du lot" + (f" (« {nom} »)" if isinstance(nom, str) else "")
            propres.append(verifier_operation(operation, contexte))
        total = len(propres)
        ids: list[int] = []
        if not total:
            return ids
        with self._ecrire() as conn:
            for debut in range(0, total, TAILLE_PAQUET_IMPORT):
                ids += self._inserer_operations(conn, propres[debut:debut + TAILLE_PAQUET_IMPORT], auteur)
                if progression is not None:
                    progression(len(ids), total)
        return ids

    def _conflit(self, conn: Connection, operation_id: int, version_attendue: int) -> ErreurDonnees:
        ligne = conn.execute(select(table_operation.c.version, table_operation.c.supprimee)
                             .where(table_operation.c.id == operation_id)).first()
        if ligne is None:
            return OperationIntrouvable(operation_id)
        if ligne.version == version_attendue and ligne.supprimee:
            return ErreurDonnees(f"L'opération n° {operation_id} est supprimée. Un administrateur doit la "
                                 "restaurer avant toute modification.", "operation", "supprimee")
        return ConflitVersion(operation_id, int(ligne.version), version_attendue)

    def modifier_operation(self, operation_id: int, version_attendue: int, modifications: Mapping,
                           auteur: str) -> int:
        """Modifie une opération (``zones``/``financements``/``photos`` remplacés en entier).

        Renvoie la nouvelle version ; lève :class:`ConflitVersion` si l'opération a changé depuis la
        version attendue. Sans changement réel, rien n'est écrit et la version reste la même.
        """
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        version_attendue = _verifier_identifiant(version_attendue, "version_attendue")
        contexte = f"Opération n° {operation_id}"
        if not isinstance(modifications, Mapping):
            raise ErreurDonnees(f"{contexte} : dictionnaire de modifications attendu.", "operation")
        with self._ecrire() as conn:
            actuelle = self._charger(conn, operation_id)
            if actuelle["version"] != version_attendue:
                raise ConflitVersion(operation_id, actuelle["version"], version_attendue)
            if actuelle["supprimee"]:
                raise ErreurDonnees(f"{contexte} est supprimée. Un administrateur doit la restaurer avant "
                                    "toute modification.", "operation", "supprimee")
            avant = self._propre_stocke(actuelle)
            apres = verifier_operation(_fusionner_saisie(actuelle, modifications, contexte), contexte)
            diff, zones_changees, surfaces_apres = _comparer(actuelle, avant, apres)
            if not diff:
                return version_attendue

            maintenant = _maintenant()
            nouvelle_version = version_attendue + 1
            valeurs = {champ: v for champ, v in _ligne_operation(apres).items()
                       if champ in diff and champ in CHAMPS_SCALAIRES}
            resultat = conn.execute(
                update(table_operation)
                .where(table_operation.c.id == operation_id, table_operation.c.version == version_attendue,
                       table_operation.c.supprimee.is_(False))
                .values(**valeurs, version=nouvelle_version, modifie_par=auteur, modifie_le=maintenant))
            if resultat.rowcount != 1:
                raise self._conflit(conn, operation_id, version_attendue)
            if zones_changees:
                conn.execute(delete(table_zone).where(table_zone.c.operation_id == operation_id))
                self._inserer_zones(conn, [
                    {"operation_id": operation_id, "geometrie": z["geometrie"],
                     "revetement_avant": z["revetement_avant"], "revetement_apres": z["revetement_apres"],
                     "surface_m2": float(s)} for z, s in zip(apres["zones"], surfaces_apres)])
            self._remplacer_financements_photos(conn, operation_id, diff, actuelle, apres, maintenant)
            action = "validation" if set(diff) <= {"validation", "commentaire_validation"} else "modification"
            self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, action, "operation", operation_id,
                                                        diff)])
            # Validée ou renvoyée à corriger : les référents de la commune sont notifiés dans cette transaction.
            notifier_decision_validation(conn, {**apres, "id": operation_id}, diff, auteur, maintenant)
        return nouvelle_version

    def _remplacer_financements_photos(self, conn: Connection, operation_id: int, diff: dict, actuelle: dict,
                                       apres: dict, maintenant: datetime) -> None:
        """Remplace les financements et les photos qui ont changé (date d'ajout d'une photo gardée)."""
        if "financements" in diff:
            conn.execute(delete(table_financement).where(table_financement.c.operation_id == operation_id))
            self._inserer_financements(conn, [{"operation_id": operation_id, **f}
                                              for f in apres["financements"]])
        if "photos" in diff:
            dates = {p["chemin"]: p["ajoutee_le"] for p in actuelle["photos"]}
            conn.execute(delete(table_photo).where(table_photo.c.operation_id == operation_id))
            self._inserer_photos(conn, [
                {"operation_id": operation_id, **p,
                 "ajoutee_le": p["ajoutee_le"] or dates.get(p["chemin"]) or maintenant}
                for p in apres["photos"]])
    def _propre_stocke(self, actuelle: dict) -> dict:
        """Opération stockée sous la forme nettoyée (sans revérifier les nomenclatures)."""
        propre = {champ: actuelle[champ] for champ in CHAMPS_SCALAIRES}
        propre["parcelles"] = list(actuelle["parcelles"])
        propre["zones"] = [{"geometrie": z["geometrie"], "revetement_avant": z["revetement_avant"],
                            "revetement_apres": z["revetement_apres"]} for z in actuelle["zones"]]
        propre["financements"] = [{"financeur": f["financeur"], "montant_eur": f["montant_eur"]}
                                  for f in actuelle["financements"]]
        propre["photos"] = [{"moment": p["moment"], "chemin": p["chemin"], "legende": p["legende"],
                             "ajoutee_le": p["ajoutee_le"]} for p in actuelle["photos"]]
        return propre

    def supprimer_operation(self, operation_id: int, version_attendue: int, auteur: str) -> int:
        """Suppression logique (réversible par :meth:`restaurer_operation`) ; renvoie la nouvelle version."""
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        version_attendue = _verifier_identifiant(version_attendue, "version_attendue")
        with self._ecrire() as conn:
            ligne = conn.execute(select(table_operation.c.version, table_operation.c.supprimee)
                                 .where(table_operation.c.id == operation_id)).first()
            if ligne is None:
                raise OperationIntrouvable(operation_id)
            if ligne.supprimee:
                raise ErreurDonnees(f"L'opération n° {operation_id} est déjà supprimée.", "operation",
                                    "supprimee")
            if ligne.version != version_attendue:
                raise ConflitVersion(operation_id, int(ligne.version), version_attendue)
            return self._basculer_suppression(conn, operation_id, version_attendue, True, auteur)

    def restaurer_operation(self, operation_id: int, auteur: str) -> int:
        """Restaure une opération supprimée ; renvoie la nouvelle version."""
        auteur = _verifier_auteur(auteur)
        operation_id = _verifier_identifiant(operation_id)
        with self._ecrire() as conn:
            ligne = conn.execute(select(table_operation.c.version, table_operation.c.supprimee)
                                 .where(table_operation.c.id == operation_id)).first()
            if ligne is None:
                raise OperationIntrouvable(operation_id)
            if not ligne.supprimee:
                raise ErreurDonnees(f"L'opération n° {operation_id} n'est pas supprimée : rien à restaurer.",
                                    "operation", "supprimee")
            return self._basculer_suppression(conn, operation_id, int(ligne.version), False, auteur)

    def _basculer_suppression(self, conn: Connection, operation_id: int, version: int, supprimee: bool,
                              auteur: str) -> int:
        maintenant = _maintenant()
        resultat = conn.execute(
            update(table_operation)
            .where(table_operation.c.id == operation_id, table_operation.c.version == version,
                   table_operation.c.supprimee.is_(not supprimee))
            .values(supprimee=supprimee, version=version + 1, modifie_par=auteur, modifie_le=maintenant))
        if resultat.rowcount != 1:
            raise self._conflit(conn, operation_id, version)
        action = "suppression" if supprimee else "restauration"
        self._inserer_journal(conn, [_ligne_journal(maintenant, auteur, action, "operation", operation_id,
                                                    {"supprimee": [not supprimee, supprimee]})])
        return version + 1

    # ---------------------------------------------------------------- lectures

    def _charger(self, conn: Connection, operation_id: int) -> dict:
        ligne = conn.execute(select(table_operation).where(table_operation.c.id == operation_id)).mappings().first()
        if ligne is None:
            raise OperationIntrouvable(operation_id)
        operation = dict(ligne)
        operation.pop("jeton_soumission", None)  # interne au magasin (une soumission, une opération)
        operation["parcelles"] = json.loads(operation["parcelles"] or "[]")
        zones = conn.execute(select(table_zone).where(table_zone.c.operation_id == operation_id)
                             .order_by(table_zone.c.id)).mappings().all()
        geometries = _wkb_en_geometries([z["geometrie"] for z in zones])
        operation["zones"] = [
            {"zone_id": z["id"], "geometrie": g, "revetement_avant": z["revetement_avant"],
             "revetement_apres": z["revetement_apres"], "surface_m2": z["surface_m2"]}
            for z, g in zip(zones, geometries)]
        operation["financements"] = [
            {"financement_id": f["id"], "financeur": f["financeur"], "montant_eur": f["montant_eur"]}
            for f in conn.execute(select(table_financement).where(table_financement.c.operation_id == operation_id)
                                  .order_by(table_financement.c.id)).mappings()]
        operation["photos"] = [
            {"photo_id": p["id"], "moment": p["moment"], "chemin": p["chemin"], "legende": p["legende"],
             "ajoutee_le": p["ajoutee_le"]}
            for p in conn.execute(select(table_photo).where(table_photo.c.operation_id == operation_id)
                                  .order_by(table_photo.c.id)).mappings()]
        operation["surface_zones_m2"] = float(sum(z["surface_m2"] for z in operation["zones"]))
        operation["montant_aides_eur"] = float(sum(f["montant_eur"] for f in operation["financements"]))
        operation["annee"] = operation["date_fin_travaux"].year if operation["date_fin_travaux"] else None
        return operation

    def lire_operation(self, operation_id: int) -> dict:
        """Une opération (même supprimée) avec ses zones, financements et photos."""
        operation_id = _verifier_identifiant(operation_id)
        with self._lire() as conn:
            return self._charger(conn, operation_id)

    def lire_operations(self, inclure_supprimees: bool = False) -> gpd.GeoDataFrame:
        """Une ligne par opération ; géométrie = union des zones (EPSG:4326).

        Colonnes : champs de l'opération, ``id`` (et ``operation_id``), ``nb_zones``,
        ``surface_zones_m2``, ``montant_aides_eur``, ``annee`` (année de fin des travaux).
        """
        op = table_operation
        filtre = [] if inclure_supprimees else [op.c.supprimee.is_(False)]
        with self._lire() as conn:
            resultat = conn.execute(select(op).where(*filtre).order_by(op.c.id))
            table = lire_resultat(resultat)
            zones = conn.execute(
                select(table_zone.c.operation_id, table_zone.c.geometrie, table_zone.c.surface_m2)
                .join(op, op.c.id == table_zone.c.operation_id).where(*filtre)
                .order_by(table_zone.c.operation_id, table_zone.c.id)).all()
            aides = dict(conn.execute(
                select(table_financement.c.operation_id, func.sum(table_financement.c.montant_eur))
                .join(op, op.c.id == table_financement.c.operation_id).where(*filtre)
                .group_by(table_financement.c.operation_id)).all())

        table = table.drop(columns="jeton_soumission")  # interne au magasin
        table["parcelles"] = [json.loads(p or "[]") for p in table["parcelles"]]
        for champ in ("cout_ht_eur", "volume_stockage_m3", "surface_declaree_m2"):
            table[champ] = table[champ].astype(float)
        table.insert(1, "operation_id", table["id"])
        ids_zones = np.array([z[0] for z in zones], dtype=np.int64)
        geometries = _wkb_en_geometries([z[1] for z in zones])
        surfaces = np.array([z[2] for z in zones], dtype=float)
        uniques, debuts, comptes = np.unique(ids_zones, return_index=True, return_counts=True)
        unions = geometries[debuts] if len(uniques) else np.empty(0, dtype=object)
        for i in np.nonzero(comptes > 1)[0]:
            unions[i] = shapely.union_all(geometries[debuts[i]:debuts[i] + comptes[i]])
        sommes = np.add.reduceat(surfaces, debuts) if len(uniques) else np.zeros(0)
        par_id = pd.Index(uniques)
        position = par_id.get_indexer(table["id"].to_numpy(dtype=np.int64))
        trouve = position >= 0
        table["nb_zones"] = np.where(trouve, comptes[position] if len(uniques) else 0, 0).astype(np.int64)
        table["surface_zones_m2"] = np.where(trouve, sommes[position] if len(uniques) else 0.0, 0.0)
        table["montant_aides_eur"] = [float(aides.get(i, 0.0) or 0.0) for i in table["id"]]
        table["date_fin_travaux"] = pd.to_datetime(table["date_fin_travaux"])
        table["annee"] = table["date_fin_travaux"].dt.year.astype("Int64")
        geometrie = np.empty(len(table), dtype=object)
        if len(uniques):
            geometrie[trouve] = unions[position[trouve]]
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometrie, index=table.index, crs=CRS_STOCKAGE))

    def lire_zones(self, inclure_supprimees: bool = False, validations: Sequence[str] | None = None
                   ) -> gpd.GeoDataFrame:
        """Une ligne par zone (EPSG:4326), avec la surface Lambert-93 et les champs utiles de l'opération
        (``validations`` : zones des seules opérations à ces validations)."""
        op, zo = table_operation, table_zone
        filtres = [] if inclure_supprimees else [op.c.supprimee.is_(False)]
        if validations is not None:
            filtres.append(op.c.validation.in_(list(validations)))
        requete = (select(zo.c.id.label("zone_id"), zo.c.operation_id, zo.c.revetement_avant,
                          zo.c.revetement_apres, zo.c.surface_m2, op.c.code_insee, op.c.type_site,
                          op.c.statut, op.c.validation, op.c.date_fin_travaux, op.c.nom, zo.c.geometrie)
                   .join(op, op.c.id == zo.c.operation_id).where(*filtres).order_by(zo.c.id))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            table = lire_resultat(resultat)
        geometries = _wkb_en_geometries(table["geometrie"].tolist())
        table = table.drop(columns="geometrie")
        table["surface_m2"] = table["surface_m2"].astype(float)
        table["annee"] = pd.to_datetime(table.pop("date_fin_travaux")).dt.year.astype("Int64")
        table = table[["zone_id", "operation_id", "revetement_avant", "revetement_apres", "surface_m2",
                       "code_insee", "type_site", "statut", "validation", "annee", "nom"]]
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometries, index=table.index, crs=CRS_STOCKAGE))

    def lire_financements(self, inclure_supprimees: bool = False) -> pd.DataFrame:
        """Financements, avec commune et année de l'opération (opérations supprimées exclues par défaut)."""
        op, fi = table_operation, table_financement
        requete = (select(fi.c.id.label("financement_id"), fi.c.operation_id, fi.c.financeur, fi.c.montant_eur,
                          op.c.code_insee, op.c.date_fin_travaux)
                   .join(op, op.c.id == fi.c.operation_id)
                   .where(*([] if inclure_supprimees else [op.c.supprimee.is_(False)]))
                   .order_by(fi.c.id))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            table = lire_resultat(resultat)
        table["montant_eur"] = table["montant_eur"].astype(float)
        table["annee"] = pd.to_datetime(table.pop("date_fin_travaux")).dt.year.astype("Int64")
        return table

    def lire_photos(self, operation_id: int | None = None, inclure_supprimees: bool = False) -> pd.DataFrame:
        """Photos d'une opération, ou de toutes (opérations supprimées exclues par défaut)."""
        op, ph = table_operation, table_photo
        requete = select(ph.c.id.label("photo_id"), ph.c.operation_id, ph.c.moment, ph.c.chemin,
                         ph.c.legende, ph.c.ajoutee_le).order_by(ph.c.id)
        if operation_id is not None:
            requete = requete.where(ph.c.operation_id == _verifier_identifiant(operation_id))
        elif not inclure_supprimees:
            requete = requete.join(op, op.c.id == ph.c.operation_id).where(op.c.supprimee.is_(False))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            return lire_resultat(resultat)

    def lire_journal(self, operation_id: int | None = None) -> pd.DataFrame:
        """Journal des changements (``diff`` décodé), du plus ancien au plus récent."""
        jo = table_journal
        requete = select(jo).order_by(jo.c.horodatage, jo.c.id)
        if operation_id is not None:
            requete = requete.where(jo.c.table_cible == "operation",
                                    jo.c.enregistrement_id == _verifier_identifiant(operation_id))
        with self._lire() as conn:
            resultat = conn.execute(requete)
            table = lire_resultat(resultat)
        table["diff"] = [json.loads(d) for d in table["diff"]]
        return table

