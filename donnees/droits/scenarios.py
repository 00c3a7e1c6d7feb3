"""Scénarios vus par un utilisateur (issue 15) : qui lit, qui écrit, qui commente, qui convertit.

- administrateur (syndicat) : crée, modifie, partage, supprime les scénarios et leurs sites ; commente et convertit
  partout ;
- financeur : lit tous les scénarios (chiffres de tête), n'écrit rien ;
- référent commune : lit les scénarios partagés ; donne l'avis de sa commune sur les sites de ses communes seulement,
  et convertit en opération programmée un site de ses communes (mêmes droits que la création d'une opération) ;
- public : rien.

Chaque refus lève :class:`ErreurDroits` avec un message en français ; le journal porte l'adresse de l'utilisateur.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd

from donnees.droits.politique import ErreurDroits, _role
from donnees.erreurs import ErreurDonnees


class EcrituresScenarios:
    """Méthodes de :class:`donnees.droits.facade.MagasinProtege` pour les scénarios."""

    def _scenarios_visibles(self) -> pd.DataFrame:
        u = self.utilisateur
        self._exiger(u, "lire_scenarios")
        scenarios = self._magasin.lire_scenarios()
        if _role(u) == "referent":
            scenarios = scenarios[scenarios["partage"].to_numpy(bool)]
        return scenarios.reset_index(drop=True)

    def lire_scenarios(self) -> pd.DataFrame:
        """Scénarios que l'utilisateur peut lire (le référent : ceux que le syndicat a partagés)."""
        return self._scenarios_visibles()

    def lire_scenario(self, scenario_id: int) -> dict:
        """Un scénario lisible par l'utilisateur ; :class:`ErreurDroits` sinon."""
        visibles = self._scenarios_visibles()
        if int(scenario_id) not in set(visibles["id"].astype(int)):
            self._magasin.lire_scenario(scenario_id)  # introuvable : son message d'abord
            raise ErreurDroits(f"Le scénario n° {scenario_id} n'est pas partagé avec votre commune : le syndicat "
                               "de bassin le partage quand il est prêt pour la concertation.", "lire_scenarios")
        return self._magasin.lire_scenario(scenario_id)

    def lire_sites_scenario(self, scenario_id: int) -> gpd.GeoDataFrame:
        """Sites d'un scénario lisible."""
        self.lire_scenario(scenario_id)
        return self._magasin.lire_sites(scenario_id)

    def lire_avis_scenario(self, scenario_id: int) -> pd.DataFrame:
        """Avis des communes sur les sites d'un scénario lisible (auteur compris : réservé aux connectés)."""
        self.lire_scenario(scenario_id)
        return self._magasin.lire_avis(scenario_id)

    # ---------------------------------------------------------------- syndicat

    def creer_scenario(self, nom: Any, description: Any = None) -> int:
        """Crée un scénario (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_scenarios")
        return self._magasin.creer_scenario(nom, description, u.email)

    def modifier_scenario(self, scenario_id: int, version_attendue: int, modifications: Mapping) -> int:
        """Renomme, décrit ou partage un scénario (administrateur) ; renvoie la nouvelle version."""
        u = self.utilisateur
        self._exiger(u, "gerer_scenarios")
        return self._magasin.modifier_scenario(scenario_id, version_attendue, modifications, u.email)

    def supprimer_scenario(self, scenario_id: int) -> None:
        """Supprime un scénario (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_scenarios")
        self._magasin.supprimer_scenario(scenario_id, u.email)

    def ajouter_sites(self, scenario_id: int, sites: Sequence[Mapping]) -> list[int]:
        """Ajoute des sites à un scénario (administrateur) : chacun doit être dans sa commune du territoire
        (même contrôle que les zones des opérations) ; rien n'est écrit si un seul est refusé."""
        u = self.utilisateur
        self._exiger(u, "gerer_scenarios")
        self._verifier_sites_dans_communes(sites)
        return self._magasin.ajouter_sites(scenario_id, sites, u.email)

    def _verifier_sites_dans_communes(self, sites: Sequence[Mapping]) -> None:
        from donnees.droits.zones import verifier_zones_dans_commune

        codes = set(self.noms_communes)
        for rang, site in enumerate(sites, start=1):
            if not isinstance(site, Mapping):
                continue  # refusé par le magasin, avec son message
            code = str(site.get("code_insee") or "").strip()
            if codes and code not in codes:
                raise ErreurDonnees(f"Site {rang} : la commune {code} n'est pas du territoire : un scénario ne porte "
                                    "que sur les communes du territoire.", "site_scenario", "code_insee")
            try:
                verifier_zones_dans_commune(code, [{"geometrie": site.get("geometrie")}], self.contours_communes,
                                            self.noms_communes)
            except ErreurDonnees as erreur:
                raise ErreurDonnees(f"Site {rang} : {erreur}", "site_scenario", "geometrie") from None

    def retirer_site(self, site_id: int) -> None:
        """Retire un site de son scénario (administrateur)."""
        u = self.utilisateur
        self._exiger(u, "gerer_scenarios")
        self._magasin.retirer_site(site_id, u.email)

    # ---------------------------------------------------------------- communes

    def _site_partage(self, site_id: int) -> dict:
        site = self._magasin.lire_site(site_id)
        self.lire_scenario(site["scenario_id"])  # lisible (partagé pour un référent)
        return site

    def donner_avis(self, site_id: int, avis: str, commentaire: Any = None) -> int:
        """Avis de la commune sur un site (référent de la commune du site, ou administrateur)."""
        u = self.utilisateur
        self._exiger(u, "lire_scenarios")
        site = self._site_partage(site_id)
        self._exiger(u, "commenter_site", site["code_insee"], {"code_insee": site["code_insee"]})
        return self._magasin.donner_avis(site_id, avis, commentaire, u.email)

    def convertir_site(self, site_id: int, operation: Mapping | None = None) -> int:
        """Fait du site une opération programmée de sa commune, liée au site (référent de la commune, ou
        administrateur) : zone = géométrie et revêtements du site, statut « programmée », fin des travaux
        prévue au 31 décembre de l'année du site ; ``operation`` complète ou remplace ces champs (nom…)."""
        from datetime import date

        u = self.utilisateur
        self._exiger(u, "lire_scenarios")
        site = self._site_partage(site_id)
        self._exiger(u, "creer", site["code_insee"])
        scenario = self._magasin.lire_scenario(site["scenario_id"])
        champs = {"code_insee": site["code_insee"], "type_site": site["type_site"], "statut": "programmee",
                  "nom": f"Site {site_id} du scénario « {scenario['nom']} »",
                  "date_fin_travaux": date(int(site["annee"]), 12, 31),
                  "description": f"Opération née du site n° {site_id} du scénario « {scenario['nom']} » "
                                 f"(n° {scenario['id']}).",
                  "parcelles": [site["parcelle_id"]] if site.get("parcelle_id") else [],
                  "zones": [{"geometrie": site["geometrie"], "revetement_avant": site["revetement_avant"],
                             "revetement_apres": site["revetement_apres"]}],
                  **dict(operation or {})}
        champs["code_insee"] = site["code_insee"]  # la commune du site, quoi qu'on passe
        self._controler_creation(u, champs)  # mêmes règles qu'une création (validation, zones dans la commune)
        return self._magasin.convertir_site(site_id, champs, u.email)
