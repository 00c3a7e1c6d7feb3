"""Playwright + Chromium, de bout en bout sur un territoire réel : `desimper territoire initialiser` puis
`desimper importer communes --telecharger` (sources servies sur 127.0.0.1), puis la Vue d'ensemble montre
les 25 vraies communes du bassin de Thau, sans bandeau « démonstration », et l'Administration → Données
donne leur source et leur licence."""

from pathlib import Path

import pandas as pd
import pytest

import cli
from serveur_sources import fichier_partage
from test_pages_navigateur import attendre_application
from test_saisie_navigateur import MOT_DE_PASSE, _proprietes_carte, _se_connecter

SORTIES = Path(__file__).resolve().parents[1] / "sorties"

pytestmark = pytest.mark.navigateur


def test_vue_ensemble_sur_les_25_communes_reelles(navigateur, demarrer_serveur, serveur_sources, tmp_path,
                                                  monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    attendu = pd.read_csv(fichier_partage("communes-bassin-thau.csv"), dtype={"code_insee": str})
    dossier = tmp_path / "thau"
    assert cli.main(["territoire", "initialiser", "--nom", "Bassin de Thau", "--insee",
                     ",".join(attendu["code_insee"]), "--dossier", str(dossier)]) == 0
    assert cli.main(["importer", "communes", "--telecharger", "--dossier", str(dossier)]) == 0
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier))
    monkeypatch.setenv("DESIMPER_MOT_DE_PASSE", MOT_DE_PASSE)
    assert cli.main(["utilisateur", "creer", "--email", "admin@bassin.fr", "--nom", "Dominique Syndicat",
                     "--role", "administrateur"]) == 0

    url = demarrer_serveur(dossier)
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page = contexte.new_page()
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    try:
        page.goto(url + "/")
        attendre_application(page, "Vue d'ensemble")
        cadre = page.frame_locator("iframe[title*='streamlit_folium']").first
        communes = cadre.locator("path.desimper-commune")
        communes.nth(24).wait_for(state="attached", timeout=60_000)
        assert communes.count() == 25
        contenus = ""
        for _ in range(60):
            contenus = " ".join(_proprietes_carte(c) for c in page.frames)
            if all(nom in contenus for nom in attendu["nom"]):
                break
            page.wait_for_timeout(500)
        manquants = [f"{c} {n}" for c, n in zip(attendu["code_insee"], attendu["nom"])
                     if n not in contenus or c not in contenus]
        assert not manquants, manquants
        barre = page.locator("[data-testid='stSidebar']")
        assert "Bassin de Thau" in barre.inner_text() and "démonstration" not in barre.inner_text().lower()
        assert page.get_by_text("desimper importer occupation").count() > 0  # couche manquante expliquée
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / "territoire_reel_vue_ensemble.png"), full_page=True)

        _se_connecter(page, url, "admin@bassin.fr", "Dominique Syndicat")
        page.get_by_role("link", name="Administration").click()
        attendre_application(page, "Administration")
        page.locator("[data-testid='stMain']").get_by_text("Données", exact=True).click()
        page.get_by_text("Mentions obligatoires").first.wait_for(timeout=60_000)
        texte = page.locator("[data-testid='stMain']").inner_text()
        assert "Source : IGN – ADMIN EXPRESS" in texte and "Licence Ouverte" in texte
        page.screenshot(path=str(SORTIES / "territoire_reel_donnees.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        assert not erreurs, erreurs
    except Exception:
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / "territoire_reel_echec.png"), full_page=True)
        raise
    finally:
        contexte.close()
