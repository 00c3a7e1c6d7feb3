"""Écritures administratives de la façade (administrateur seulement) : objectifs, nouvelles surfaces
imperméabilisées, paramètres de modèle du territoire et comptes. Chaque changement est journalisé."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from donnees import comptes, sessions
from donnees.comptes import Utilisateur
from donnees.droits.communes import lire_noms_communes
from donnees.erreurs import ErreurDonnees

# Familles de paramètres propres au territoire : clé des valeurs → (clé des sources, libellé des messages).
FAMILLES_PARAMETRES = {"parametres": ("sources_parametres", "Paramètres"),
                       "potentiel": ("sources_potentiel", "Paramètres du potentiel")}


def _premier(valeurs: list | None):
    """Valeur journalisée : la surface seule si c'est la seule colonne, sinon la liste des valeurs."""
    if valeurs is None:
        return None
    return valeurs[0] if len(valeurs) == 1 else valeurs


class EcrituresAdministration:
    """Méthodes administratives de :class:`~donnees.droits.facade.MagasinProtege`.

    La classe qui en hérite fournit ``_magasin`` (le magasin), ``utilisateur`` (relu dans la base) et
    ``_exiger(utilisateur, action)`` ; chaque méthode exige son droit avant d'écrire.
    """

    _magasin: Any

    # ---------------------------------------------------------------- objectifs (administrateur)

    def ecrire_objectifs(self, objectifs: pd.DataFrame, dossier: Path | None = None) -> dict:
        """Remplace les objectifs de désimperméabilisation (administrateur).

        Table : ``territoire`` (``bassin`` ou code INSEE), ``annee``, ``surface_m2`` (m² cumulés visés). Validée
        puis écrite d'un coup (rien n'est écrit si elle est refusée) ; le changement est journalisé. Renvoie le
        diff ``{"territoire annee": [avant, après]}``.
        """
        return self._remplacer_couche_administree("objectifs", objectifs, "territoire", ["surface_m2"], dossier,
                                                  bassin_admis=True)

    def ecrire_nouvelles_surfaces(self, surfaces: pd.DataFrame, dossier: Path | None = None) -> dict:
        """Remplace les surfaces nouvellement imperméabilisées (administrateur), pour le ratio SDAGE.

        Table : ``code_insee``, ``annee``, ``surface_m2`` (m² imperméabilisés dans l'année), ``source``
        (déclaration de la commune, mesure entre deux millésimes OCS GE…). Mêmes garanties que les objectifs.
        """
        return self._remplacer_couche_administree("nouvelles_surfaces", surfaces, "code_insee",
                                                  ["surface_m2", "source"], dossier)

    def _remplacer_couche_administree(self, nom: str, table: pd.DataFrame, colonne_territoire: str,
                                      valeurs: list[str], dossier: Path | None, bassin_admis: bool = False) -> dict:
        from donnees.referentiel import chemin_couche, ecrire_couche, lire_couche
        from donnees.schemas import SCHEMAS

        u = self.utilisateur
        self._exiger(u, "gerer_parametres")
        colonnes = [colonne_territoire, "annee", *valeurs]
        libelle = SCHEMAS[nom].libelle
        manquantes = [c for c in colonnes if c not in table.columns]
        if manquantes:
            raise ErreurDonnees(f"{libelle.capitalize()} : colonne(s) manquante(s) {', '.join(manquantes)}.", nom)
        avant = lire_couche(nom, dossier) if chemin_couche(nom, dossier).exists() else pd.DataFrame(columns=colonnes)
        nouveaux = table[colonnes].copy()
        nouveaux[colonne_territoire] = nouveaux[colonne_territoire].astype(str).str.strip()
        codes = set(lire_noms_communes(dossier)) | ({"bassin"} if bassin_admis else set())
        inconnus = sorted(set(nouveaux[colonne_territoire]) - codes) if len(codes) > bassin_admis else []
        if inconnus:
            raise ErreurDonnees(f"{libelle.capitalize()} : territoire(s) inconnu(s) {', '.join(inconnus)}. Écrivez "
                                + ("« bassin » ou " if bassin_admis else "")
                                + "le code INSEE d'une commune du territoire.", nom, colonne_territoire)

        def cles(lignes: pd.DataFrame) -> dict:
            return {f"{t} {int(a)}": [lignes[v].iloc[i] if v != "surface_m2" else float(lignes[v].iloc[i])
                                      for v in valeurs]
                    for i, (t, a) in enumerate(zip(lignes[colonne_territoire], lignes["annee"]))}

        ecrire_couche(nom, nouveaux, dossier)
        anciens, recents = cles(avant.reset_index(drop=True)), cles(nouveaux.reset_index(drop=True))
        diff = {cle: [_premier(anciens.get(cle)), _premier(recents.get(cle))]
                for cle in sorted(set(anciens) | set(recents)) if anciens.get(cle) != recents.get(cle)}
        if diff:
            self._magasin.journaliser(u.email, "modification", nom, diff)
        return diff

    def ecrire_parametres(self, surcharges: Mapping[str, float], sources: Mapping[str, str],
                          valider: Any, dossier: Path | None = None, famille: str = "parametres") -> dict:
        """Remplace les valeurs des paramètres propres au territoire (administrateur).

        ``surcharges`` : code → valeur (les autres paramètres gardent leur valeur par défaut) ; ``sources`` :
        code → source de la valeur, obligatoire pour chaque surcharge ; ``valider`` : fonction qui lève
        :class:`ErreurDonnees` pour un code inconnu ou une valeur hors bornes (celle des indicateurs) ;
        ``famille`` : ``parametres`` (modèles, clés ``parametres``/``sources_parametres`` de ``territoire.json``)
        ou ``potentiel`` (règles du score de potentiel, clés ``potentiel``/``sources_potentiel``). Le fichier du
        territoire est réécrit d'un coup et le changement journalisé (entité = famille). Renvoie le diff.
        """
        from donnees.referentiel import ecrire_territoire, lire_territoire

        u = self.utilisateur
        self._exiger(u, "gerer_parametres")
        surcharges = {str(c): float(v) for c, v in surcharges.items()}
        sources = {c: str(sources.get(c) or "").strip() for c in surcharges}
        if famille not in FAMILLES_PARAMETRES:
            raise ErreurDonnees(f"Famille de paramètres inconnue : « {famille} » (connues : "
                                f"{', '.join(FAMILLES_PARAMETRES)}).", "territoire")
        cle_sources, libelle = FAMILLES_PARAMETRES[famille]
        territoire = lire_territoire(dossier)
        anciennes = {c: float(v) for c, v in (territoire.get(famille) or {}).items()}
        anciennes_sources = territoire.get(cle_sources) or {}
        # Une valeur nouvelle ou changée doit citer sa source (une valeur inchangée garde la sienne).
        sans_source = sorted(c for c, texte in sources.items() if not texte and anciennes.get(c) != surcharges[c])
        if sans_source:
            raise ErreurDonnees(f"{libelle} : source manquante pour {', '.join(sans_source)}. Dites d'où vient "
                                "chaque valeur propre au territoire (étude, station Météo-France, arrêté…).",
                                "territoire", "source")
        valider(surcharges)
        diff = {c: [anciennes.get(c), surcharges.get(c)] for c in sorted(set(anciennes) | set(surcharges))
                if anciennes.get(c) != surcharges.get(c)}
        diff.update({f"source {c}": [anciennes_sources.get(c), sources[c]] for c in sorted(sources)
                     if (anciennes_sources.get(c) or "") != sources[c]})
        sources = {c: texte for c, texte in sources.items() if texte}
        if diff:
            ecrire_territoire({**territoire, famille: surcharges, cle_sources: sources}, dossier)
            self._magasin.journaliser(u.email, "modification", famille, diff)
        return diff

    # ---------------------------------------------------------------- comptes (administrateur)

    def lire_utilisateurs(self) -> pd.DataFrame:
        """Comptes (sans empreintes)."""
        self._exiger(self.utilisateur, "gerer_comptes")
        return comptes.lister_comptes(self._magasin)

    def creer_compte(self, email: str, nom: str, role: str, communes: Iterable[str] | str | None,
                     mot_de_passe: str | None) -> Utilisateur:
        """Crée un compte (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.creer_compte(self._magasin, email, nom, role, communes, mot_de_passe, auteur=u.email)

    def modifier_compte(self, email: str, **modifications: Any) -> Utilisateur:
        """Modifie un compte : ``nom``, ``role``, ``communes``, ``actif`` (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.modifier_compte(self._magasin, email, u.email, **modifications)

    def desactiver_compte(self, email: str) -> Utilisateur:
        """Désactive un compte (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.desactiver_compte(self._magasin, email, u.email)

    def reinitialiser_mot_de_passe(self, email: str, mot_de_passe: str | None = None) -> str:
        """Pose un mot de passe (généré si absent) et lève le blocage ; renvoie le mot de passe (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return comptes.reinitialiser_mot_de_passe(self._magasin, email, u.email, mot_de_passe)

    def lire_sessions_compte(self, email: str) -> list[dict]:
        """Sessions encore utilisables d'un compte (début, dernière activité, expiration, navigateur ; jamais le
        jeton) (administrateur)."""
        self._exiger(self.utilisateur, "gerer_comptes")
        return sessions.lister_sessions(self._magasin, email)

    def fermer_sessions_compte(self, email: str) -> int:
        """Ferme toutes les sessions d'un compte, journalisé au nom de l'administrateur ; renvoie leur nombre."""
        u = self.utilisateur
        self._exiger(u, "gerer_comptes")
        return sessions.fermer_sessions_compte(self._magasin, email, administrateur=u.email)
