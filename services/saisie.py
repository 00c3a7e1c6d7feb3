"""Saisie d'une opération : aperçu de ses indicateurs, enregistrement avec ses photos (tout ou rien)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from donnees.magasin import ConflitVersion
from donnees.photos import resoudre_photo, stocker_photo
from indicateurs.chaleur_abords import estimer_chaleur_site
from indicateurs.eau import calculer_volume_retenu
from indicateurs.surfaces import calculer_surface_desimpermeabilisee

_journal = logging.getLogger(__name__)

__all__ = ["ConflitVersion", "PhotoDeposee", "enregistrer_saisie", "estimer_apercu"]


@dataclass(frozen=True)
class PhotoDeposee:
    """Photo envoyée avec la saisie : contenu, nom du fichier et moment (``avant`` ou ``apres``)."""

    octets: bytes
    nom: str
    moment: str


def estimer_apercu(zones: pd.DataFrame, revetements: pd.DataFrame, parametres) -> dict:
    """Indicateurs d'aperçu des zones saisies (``surface_m2``, ``revetement_avant``, ``revetement_apres``,
    géométrie) : surface désimperméabilisée (m²), volume retenu supplémentaire (infiltration +
    évapotranspiration, m³/an), effet de chaleur local (:func:`indicateurs.chaleur_abords.estimer_chaleur_site`)."""
    avant, apres = zones["revetement_avant"], zones["revetement_apres"]
    impermeables = set(revetements.index[revetements["impermeable"]])
    table = pd.DataFrame({"surface_m2": zones["surface_m2"].to_numpy(float),
                          "c_avant": avant.map(revetements["c_ruissellement"]).to_numpy(float),
                          "c_apres": apres.map(revetements["c_ruissellement"]).to_numpy(float),
                          "impermeable_avant": avant.isin(impermeables).to_numpy(bool),
                          "impermeable_apres": apres.isin(impermeables).to_numpy(bool)})
    return {"surface_desimpermeabilisee": float(calculer_surface_desimpermeabilisee(table).sum()),
            "volume_infiltre": float(calculer_volume_retenu(table, parametres["pluie_annuelle_mm"]).sum()),
            "score_chaleur": estimer_chaleur_site(zones, parametres)}


def _ecrire_photos(photos: list[PhotoDeposee], dossier: Path) -> list[dict]:
    """Photos nettoyées et écrites sous des noms choisis par le magasin ; ``_nouvelle`` : fichier créé ici."""
    ecrites = []
    try:
        for photo in photos:
            chemin, nouvelle = stocker_photo(photo.octets, photo.nom, dossier)
            ecrites.append({"moment": photo.moment, "legende": photo.nom, "chemin": chemin, "_nouvelle": nouvelle})
    except Exception:  # photo refusée ou panne (ErreurPanne) : les photos déjà écrites sont retirées
        _retirer_photos(ecrites, dossier)
        raise
    return ecrites


def _retirer_photos(photos: list[dict], dossier: Path) -> None:
    """Retire les fichiers créés par cette saisie (jamais une photo déjà stockée, peut-être partagée)."""
    for photo in photos:
        chemin = resoudre_photo(photo["chemin"], dossier) if photo.get("_nouvelle") else None
        if chemin is None:
            continue
        try:
            chemin.unlink(missing_ok=True)
        except OSError as exc:  # dossier passé en lecture seule entre-temps : la photo orpheline est signalée
            _journal.warning("Photo %s non retirée après l'échec de la saisie : %s", photo["chemin"], exc)


def enregistrer_saisie(facade, operation: dict, photos: list[PhotoDeposee], photos_gardees: list[dict],
                       dossier: Path, edition: dict | None = None, version_ouverte: int | None = None,
                       jeton_soumission: str | None = None) -> tuple:
    """Crée (``edition`` absente) ou modifie l'opération avec les droits de la façade, photos comprises.

    Les photos nouvelles sont nettoyées et écrites d'abord ; si l'une ne peut être écrite (disque plein :
    :class:`ErreurPanne`), les autres sont retirées et rien n'est écrit en base ; si l'écriture de
    l'opération échoue (droits, contrôle, conflit de version, panne de la base), elles sont retirées et
    l'erreur remonte. Une création porte le
    ``jeton_soumission`` du formulaire : un second envoi du même formulaire (double clic) renvoie
    l'opération du premier, sans en créer une autre, et ses photos en double sont retirées. Renvoie
    ``(identifiant, message de réussite en français)``.
    """
    ecrites = _ecrire_photos(photos, dossier)
    operation = {**operation, "photos": [{c: p[c] for c in ("moment", "chemin", "legende")}
                                         for p in [*photos_gardees, *ecrites]]}
    try:
        if edition is None:
            ident, creee = facade.soumettre_operation({**operation, "validation": "a_valider"}, jeton_soumission)
            if not creee:  # second envoi : l'opération du premier est gardée telle quelle
                _retirer_photos(ecrites, dossier)
            return ident, f"Opération n° {ident} enregistrée ; elle est « à valider » par le syndicat de bassin."
        ident = edition["id"]
        version = facade.modifier_operation(ident, version_ouverte, operation)
        relue = facade.lire_operation(ident)
    except Exception:
        # Rien à moitié : refus, conflit ou panne (ErreurPanne du magasin : disque plein, base injoignable),
        # les photos écrites pour cette saisie sont retirées, puis l'erreur remonte telle quelle.
        _retirer_photos(ecrites, dossier)
        raise
    message = (f"Opération n° {ident} modifiée (version {version})."
               if version != version_ouverte else f"Opération n° {ident} : aucun changement à enregistrer.")
    if relue["validation"] == "a_valider" and edition["validation"] != "a_valider":
        message += " Elle repasse « à valider » par le syndicat de bassin."
    return ident, message
