"""Annuaire des membres vu par un utilisateur (issue 16, partie 4) : qui lit l'annuaire, qui gère quelle fiche, qui
modère.

| action | public | financeur | référent de la commune | référent d'une autre commune | administrateur |
|---|---|---|---|---|---|
| lire l'annuaire (fiches consenties) | non | oui | oui | oui | oui, masquées comprises (motif) |
| créer, modifier, retirer **sa** fiche | non | oui | oui | oui | oui |
| créer ou modifier la fiche d'un autre | non | non | non | non | non |
| masquer, rétablir une fiche | non | non | non | non | oui (journalisé) |
| référents dans « Qui l'a fait avant moi ? » | non (communes seulement) | oui | oui | oui | oui |
| pairs des autres territoires | non | oui | oui | oui | oui |

Personne, pas même le syndicat, ne lit un champ qu'un membre n'a pas rendu visible : l'adresse d'un compte n'est
jamais rendue sans ``email_visible``, ni le téléphone ou la présentation d'une fiche retirée (ils sont effacés). Le
public ne voit ni l'annuaire, ni un nom de membre, ni leur nombre. Chaque refus lève :class:`ErreurDroits` (français).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from donnees.comptes import Utilisateur
from donnees.droits.politique import exiger, peut


def filtrer_annuaire(fiches: pd.DataFrame, recherche: str | None = None, role: str | None = None,
                     commune: str | None = None, sujet: str | None = None,
                     noms_communes: dict[str, str] | None = None) -> pd.DataFrame:
    """Fiches dont le nom, la fonction, une commune (code ou nom) ou un sujet contient ``recherche`` (sans casse),
    du rôle ``role``, rattachées à ``commune``, compétentes en ``sujet``."""
    garder = pd.Series(True, index=fiches.index)
    if role:
        garder &= fiches["role"].eq(role)
    if commune:
        garder &= fiches["communes"].map(lambda codes: commune in codes)
    if sujet:
        garder &= fiches["sujets"].map(lambda codes: sujet in codes)
    texte = str(recherche or "").strip().casefold()
    if texte:
        from donnees.magasin.annuaire import lire_sujets_annuaire

        noms, sujets = noms_communes or {}, lire_sujets_annuaire()

        def correspond(ligne) -> bool:
            morceaux = [ligne["nom"], ligne["fonction"] or "", *ligne["communes"],
                        *(noms.get(c, "") for c in ligne["communes"]), *ligne["sujets"],
                        *(sujets.get(s, "") for s in ligne["sujets"])]
            return any(texte in str(m).casefold() for m in morceaux)

        garder &= pd.Series([correspond(ligne) for ligne in fiches.to_dict("records")], index=fiches.index,
                            dtype=bool)
    return fiches[garder.to_numpy(bool)].reset_index(drop=True)


def lire_pairs_autres_territoires(lecteur: Utilisateur, sources: Iterable[tuple[str, str, Any]]) -> pd.DataFrame:
    """Fiches des autres territoires de l'instance que leurs membres ont rendues visibles hors de leur territoire,
    pour un membre connecté de ce territoire-ci (``lecteur`` : son compte ici). ``sources`` : (code, nom, magasin)
    de chaque autre territoire. Colonnes de :meth:`lire_fiches_annuaire` plus ``territoire`` et ``nom_territoire``."""
    exiger(lecteur, "lire_annuaire", noms_communes={})
    tables = []
    for code, nom, magasin in sources:
        fiches = magasin.lire_fiches_annuaire(hors_territoire=True)
        tables.append(fiches.assign(territoire=code, nom_territoire=nom))
    if not tables:
        return pd.DataFrame(columns=["territoire", "nom_territoire"])
    return pd.concat(tables, ignore_index=True)


class AnnuaireProtege:
    """Méthodes de :class:`donnees.droits.facade.MagasinProtege` pour l'annuaire des membres."""

    def lire_annuaire(self, recherche: str | None = None, role: str | None = None, commune: str | None = None,
                      sujet: str | None = None) -> pd.DataFrame:
        """Fiches consenties des comptes actifs de ce territoire (voir :func:`filtrer_annuaire`) ; le syndicat voit
        aussi les fiches masquées (colonnes ``masquee``, ``motif_masquage``) pour les rétablir."""
        u = self.utilisateur
        self._exiger(u, "lire_annuaire")
        fiches = self._magasin.lire_fiches_annuaire(inclure_masquees=peut(u, "moderer_annuaire"))
        return filtrer_annuaire(fiches, recherche, role, commune, sujet, dict(self.noms_communes))

    def lire_referents_communes(self, codes: Iterable[str]) -> pd.DataFrame:
        """Fiches visibles (non masquées) des référents rattachés à l'une des communes ``codes`` : les référents
        consentants de « Qui l'a fait avant moi ? ». Réservé aux membres connectés."""
        u = self.utilisateur
        self._exiger(u, "lire_annuaire")
        codes = {str(c) for c in codes}
        fiches = self._magasin.lire_fiches_annuaire()
        garder = fiches["role"].eq("referent") & fiches["communes"].map(lambda c: bool(codes & set(c)))
        return fiches[garder.to_numpy(bool)].reset_index(drop=True)

    def lire_ma_fiche(self) -> dict | None:
        """Fiche d'annuaire de l'utilisateur (None s'il n'en a pas, ou l'a retirée)."""
        u = self.utilisateur
        self._exiger(u, "gerer_fiche_annuaire")
        fiche = self._magasin.lire_fiche_annuaire(u.email)
        return fiche if fiche is not None and fiche["consentement"] else None

    def enregistrer_ma_fiche(self, consentement: Any, **valeurs: Any) -> int:
        """Crée ou modifie **sa** fiche (consentement explicite obligatoire) ; champs facultatifs :
        :data:`donnees.magasin.annuaire.CHAMPS_FACULTATIFS`. Nom, rôle et communes viennent du compte."""
        u = self.utilisateur
        self._exiger(u, "gerer_fiche_annuaire")
        return self._magasin.ecrire_fiche_annuaire(u.email, consentement, valeurs, u.email)

    def retirer_ma_fiche(self) -> bool:
        """Retire son consentement : fiche effacée de l'annuaire aussitôt (faux s'il n'y en avait pas)."""
        u = self.utilisateur
        self._exiger(u, "gerer_fiche_annuaire")
        return self._magasin.retirer_fiche_annuaire(u.email, u.email)

    def masquer_fiche_annuaire(self, fiche_id: int, motif: Any) -> None:
        """Masque une fiche de l'annuaire (syndicat, motif obligatoire) ; journalisé."""
        u = self.utilisateur
        self._exiger(u, "moderer_annuaire")
        self._magasin.masquer_fiche_annuaire(fiche_id, motif, u.email)

    def restaurer_fiche_annuaire(self, fiche_id: int) -> None:
        """Rétablit une fiche masquée (syndicat) ; journalisé."""
        u = self.utilisateur
        self._exiger(u, "moderer_annuaire")
        self._magasin.restaurer_fiche_annuaire(fiche_id, u.email)
