"""Playwright + Chromium : la communauté de pratiques de bout en bout (issue 16). Un référent pose une question sous
le retour d'expérience d'une autre commune ; le référent de cette commune est notifié, ouvre la notification et
répond ; le premier est notifié à son tour et lit la réponse ; le syndicat masque un message, qui disparaît pour
les membres ; le syndicat crée un événement, un membre notifié s'y inscrit et télécharge son ``.ics``."""

from pathlib import Path

import pytest

from donnees.comptes import creer_compte
from donnees.config import url_base
from donnees.magasin import Magasin
from parcours import attendre_calme
from test_pages_navigateur import attendre_application
from test_saisie_navigateur import MOT_DE_PASSE, _se_connecter

SORTIES = Path(__file__).resolve().parents[1] / "sorties"
QUESTION = "Quel paillage avez-vous choisi <b>sous les arbres</b> ?"
REPONSE = "Du broyat de la commune, sur 10 cm, renouvelé chaque hiver."
EVENEMENT = "Visite de la cour désimperméabilisée, suivie d'un atelier"

pytestmark = pytest.mark.navigateur


def _ouvrir(navigateur, url: str, email: str, nom: str):
    contexte = navigateur.new_context(viewport={"width": 1440, "height": 1100}, locale="fr-FR",
                                      timezone_id="Europe/Paris", accept_downloads=True)
    page = contexte.new_page()
    erreurs: list[str] = []
    page.on("pageerror", lambda exc: erreurs.append(str(exc)))
    _se_connecter(page, url, email, nom)
    return contexte, page, erreurs


def _choisir_retour(magasin: Magasin) -> dict:
    """Un retour d'expérience validé d'une autre commune que Sète, au nom unique (retrouvé par la recherche)."""
    operations = magasin.lire_operations()
    retours = operations[(operations["validation"] == "validee") & (operations["code_insee"] != "34301")
                         & operations["retour_experience"].fillna("").str.len().gt(0)
                         & ~operations["supprimee"].astype(bool)]
    uniques = retours[~retours["nom"].isin(operations["nom"][operations["nom"].duplicated()])]
    assert len(uniques), "la démonstration a des retours d'expérience validés hors de Sète"
    return uniques.iloc[0].to_dict()


def _publier(page, etiquette: str, texte: str, confirmation: str) -> None:
    """Remplit le champ ``etiquette`` du fil affiché et clique « Publier » (nouveau clic si une relance l'a perdu)."""
    champ = page.get_by_label(etiquette).first
    champ.fill(texte)
    for _ in range(3):
        page.get_by_role("button", name="Publier").first.click()
        try:
            page.get_by_text(confirmation).first.wait_for(timeout=30_000)
            return
        except Exception:  # noqa: BLE001 - clic perdu pendant une relance
            if champ.count() and champ.input_value() != texte:
                break  # envoyé (formulaire vidé) : la confirmation viendra
    page.get_by_text(confirmation).first.wait_for(timeout=60_000)


def _ouvrir_notification(page, url: str, titre: str = "Fiche opération") -> None:
    """Page Notifications : la plus récente non lue, ouverte par son bouton (page ``titre``)."""
    page.goto(url + "/notifications")
    attendre_application(page, "Notifications")
    attendre_calme(page)
    page.get_by_text("non lue").first.wait_for(timeout=30_000)
    page.locator("[data-testid='stMain']").get_by_role("button", name="Ouvrir").first.click()
    attendre_application(page, titre)
    attendre_calme(page)
    # Ouverte, donc lue : plus de compteur dans la navigation.
    page.get_by_role("link", name="Notifications", exact=True).first.wait_for(timeout=30_000)


def test_question_notification_reponse_et_moderation(navigateur, demarrer_serveur, dossier_demo_copie):
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    retour = _choisir_retour(magasin)
    code, ident = str(retour["code_insee"]), int(retour["id"])
    creer_compte(magasin, "admin@bassin.fr", "Dominique Syndicat", "administrateur", [], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "ref@sete.fr", "Camille Référente", "referent", ["34301"], MOT_DE_PASSE, auteur="test")
    creer_compte(magasin, "ref@autre.fr", "Sacha Référent", "referent", [code], MOT_DE_PASSE, auteur="test")
    url = demarrer_serveur(dossier_demo_copie)
    SORTIES.mkdir(parents=True, exist_ok=True)
    ouverts = []
    try:
        # 1. Le référent de Sète pose sa question sous le retour d'expérience de l'autre commune.
        contexte, demandeur, erreurs = _ouvrir(navigateur, url, "ref@sete.fr", "Camille Référente")
        ouverts.append(contexte)
        demandeur.goto(url + "/retours")
        attendre_application(demandeur, "Retours d'expérience")
        attendre_calme(demandeur)
        demandeur.get_by_label("Rechercher dans les fiches").fill(retour["nom"])
        demandeur.keyboard.press("Enter")
        attendre_calme(demandeur)
        demandeur.get_by_text("Échanges (0)").first.click()
        _publier(demandeur, "Votre question", QUESTION, "Question publiée")
        messages = magasin.lire_messages([ident])
        assert list(messages["texte"]) == [QUESTION] and list(messages["auteur_email"]) == ["ref@sete.fr"]
        demandeur.get_by_text("Question publiée").first.scroll_into_view_if_needed()
        demandeur.screenshot(path=str(SORTIES / "communaute_question.png"), full_page=True)

        # 2. Le référent de la commune est notifié, ouvre la notification (fiche) et répond.
        contexte, repondant, erreurs_b = _ouvrir(navigateur, url, "ref@autre.fr", "Sacha Référent")
        ouverts.append(contexte)
        repondant.get_by_role("link", name="Notifications (1)").first.wait_for(timeout=30_000)
        _ouvrir_notification(repondant, url)
        repondant.get_by_text(QUESTION).first.wait_for(timeout=30_000)  # affichée comme texte, balises comprises
        _publier(repondant, "Votre réponse", REPONSE, "Réponse publiée")
        assert list(magasin.lire_messages([ident])["genre"]) == ["question", "reponse"]

        # 3. Le demandeur (qui suit le fil) est notifié et lit la réponse.
        _ouvrir_notification(demandeur, url)
        demandeur.get_by_text(REPONSE).first.wait_for(timeout=30_000)
        demandeur.get_by_text(REPONSE).first.scroll_into_view_if_needed()
        demandeur.screenshot(path=str(SORTIES / "communaute_reponse.png"), full_page=True)

        # 4. Le syndicat masque la réponse (motif obligatoire) ; elle disparaît pour les membres.
        contexte, syndicat, erreurs_c = _ouvrir(navigateur, url, "admin@bassin.fr", "Dominique Syndicat")
        ouverts.append(contexte)
        syndicat.goto(url + f"/fiche?id={ident}")
        attendre_application(syndicat, "Fiche opération")
        attendre_calme(syndicat)
        reponse_id = int(magasin.lire_messages([ident])["id"].iloc[1])
        syndicat.get_by_text("Masquer ce message").nth(1).click()
        syndicat.locator(f".st-key-fil_{ident}_motif_{reponse_id} input").fill("Réponse hors sujet")
        syndicat.locator(f".st-key-fil_{ident}_masquer_{reponse_id} button").click()
        syndicat.get_by_text(f"Message n° {reponse_id} masqué.").first.wait_for(timeout=30_000)
        masques = magasin.lire_messages([ident], inclure_masques=True)
        assert list(masques["masque"].astype(bool)) == [False, True]
        demandeur.goto(url + f"/fiche?id={ident}")
        attendre_application(demandeur, "Fiche opération")
        attendre_calme(demandeur)
        demandeur.get_by_text(QUESTION).first.wait_for(timeout=30_000)
        assert demandeur.get_by_text(REPONSE).count() == 0

        # 5. Le syndicat crée un événement ; le référent, notifié, s'y inscrit et télécharge le .ics.
        syndicat.goto(url + "/agenda")
        attendre_application(syndicat, "Agenda")
        attendre_calme(syndicat)
        syndicat.get_by_text("Proposer un événement").first.click()
        syndicat.locator(".st-key-agenda_nouveau_titre input").fill(EVENEMENT)
        syndicat.locator(".st-key-agenda_nouveau_lieu input").fill("Salle des fêtes ; parking « Les Pins »")
        syndicat.locator(".st-key-agenda_nouveau_envoyer button").click()
        syndicat.get_by_text("Événement proposé").first.wait_for(timeout=60_000)
        evenement = int(magasin.lire_evenements().query("titre == @EVENEMENT")["id"].iloc[0])
        assert magasin.lire_notifications("ref@sete.fr")["lien"].iloc[0] == f"/agenda?id={evenement}"
        _ouvrir_notification(demandeur, url, "Agenda")
        demandeur.locator(f".st-key-agenda_inscrire_{evenement} button").click()
        demandeur.get_by_text("Inscription enregistrée").first.wait_for(timeout=60_000)
        assert list(magasin.lire_inscriptions(evenement)["email"]) == ["ref@sete.fr"]
        with demandeur.expect_download(timeout=60_000) as telechargement:
            demandeur.get_by_role("button", name="Ajouter à mon calendrier (.ics)").click()
        chemin = SORTIES / telechargement.value.suggested_filename
        telechargement.value.save_as(str(chemin))
        contenu = chemin.read_bytes()
        assert chemin.suffix == ".ics" and contenu.startswith(b"BEGIN:VCALENDAR\r\n")
        texte = contenu.decode("utf-8").replace("\r\n ", "")  # lignes dépliées (RFC 5545)
        assert "SUMMARY:" + EVENEMENT.replace(",", "\\,") in texte  # « , » échappé
        assert "LOCATION:Salle des fêtes \\; parking « Les Pins »" in texte  # « ; » échappé
        demandeur.get_by_text("Vous êtes inscrit").first.scroll_into_view_if_needed()
        demandeur.screenshot(path=str(SORTIES / "communaute_inscription.png"), full_page=True)
        assert not (erreurs or erreurs_b or erreurs_c)
    finally:
        for contexte in ouverts:
            contexte.close()
        magasin.fermer()
