"""Playwright + Chromium : dépôt d'une ressource par un référent (issue 16, partie 1). Un fichier HTML déguisé en PDF
est refusé en français et rien n'est écrit ; un vrai PDF au nom hostile est déposé ; son titre hostile s'affiche
comme du texte ; le fichier se télécharge en pièce jointe (jamais rendu dans la page), octet pour octet, sous son
nom assaini."""

from pathlib import Path

import pytest

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from parcours import attendre_calme, chercher_interdits, lire_texte_visible
from test_pages_navigateur import attendre_application
from test_saisie_navigateur import MOT_DE_PASSE, _se_connecter

SORTIES = Path(__file__).resolve().parents[1] / "sorties"
TITRE = "<img src=x onerror=alert(1)> Cahier des charges d'une cour oasis"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
NOM_HOSTILE = "<script>alert(1)</script> cahier.pdf"

pytestmark = pytest.mark.navigateur


def _deposer(page, fichier: Path) -> None:
    """Remplit le formulaire de dépôt (titre, résumé, fichier) et l'envoie."""
    page.locator(".st-key-ressource_deposer_titre input").fill(TITRE)
    page.locator(".st-key-ressource_deposer_resume textarea").fill("Clauses techniques et programme de la cour.")
    page.locator(".st-key-ressource_deposer_fichier input[type='file']").set_input_files(str(fichier))
    # fichier reçu par le téléverseur (nom long abrégé au milieu : on attend sa fin)
    page.locator(".st-key-ressource_deposer_fichier [data-testid='stFileChipName']").filter(
        has_text=fichier.name[-10:]).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Déposer").click()


def test_depot_refus_puis_telechargement_en_piece_jointe(navigateur, demarrer_serveur, dossier_demo_copie, tmp_path):
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    creer_compte(magasin, "ref@sete.fr", "Camille Référente", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    avant = len(magasin.lire_ressources())
    url = demarrer_serveur(dossier_demo_copie)
    SORTIES.mkdir(parents=True, exist_ok=True)
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1100}, locale="fr-FR", accept_downloads=True)
    page = contexte.new_page()
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    try:
        _se_connecter(page, url, "ref@sete.fr", "Camille Référente")
        page.goto(url + "/ressources")
        attendre_application(page, "Ressources")
        attendre_calme(page)
        page.get_by_text("Déposer une ressource").first.click()
        page.locator(".st-key-ressource_deposer_titre input").wait_for(timeout=30_000)
        assert not chercher_interdits(lire_texte_visible(page))  # formulaire ouvert : rien d'anglais
        # Une page HTML renommée en .pdf : refusée, rien d'écrit.
        deguise = tmp_path / "programme.pdf"
        deguise.write_bytes(b"<html><body><script>alert(1)</script></body></html>")
        _deposer(page, deguise)
        page.get_by_text("« programme.pdf »").first.wait_for(timeout=60_000)
        page.locator(".st-key-ressource_deposer_resume textarea").click()  # consigne « Ctrl+Entrée » affichée
        assert not chercher_interdits(lire_texte_visible(page))
        assert len(magasin.lire_ressources()) == avant
        # Un vrai PDF au nom hostile (il remplace le premier dans le téléverseur) : déposé.
        vrai = tmp_path / NOM_HOSTILE.replace("/", "∕")
        vrai.write_bytes(PDF)
        _deposer(page, vrai)
        page.get_by_text("déposée").first.wait_for(timeout=60_000)
        ressources = magasin.lire_ressources()
        assert len(ressources) == avant + 1
        ressource = ressources.iloc[0]
        assert ressource["titre"] == TITRE and ressource["fichier_type"] == "application/pdf"
        # Fiche : titre affiché en texte, fichier téléchargé en pièce jointe, octet pour octet.
        page.goto(url + f"/ressources?id={int(ressource['id'])}")
        attendre_application(page, "Ressources")
        attendre_calme(page)
        page.get_by_text(TITRE).first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stMain'] img[src='x']").count() == 0
        with page.expect_download(timeout=60_000) as telechargement:
            page.get_by_role("button", name="Télécharger").first.click()
        recu = tmp_path / "recu.pdf"
        telechargement.value.save_as(str(recu))
        assert recu.read_bytes() == PDF
        nom = telechargement.value.suggested_filename
        assert nom.endswith(".pdf") and "/" not in nom and "\\" not in nom
        page.screenshot(path=str(SORTIES / "ressource_deposee.png"), full_page=True)
        assert not erreurs
    except Exception:
        page.screenshot(path=str(SORTIES / "ressource_echec.png"), full_page=True)
        raise
    finally:
        contexte.close()
        magasin.fermer()
