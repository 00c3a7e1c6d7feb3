"""Sessions persistantes dans Chromium (issue 13) : connexion, F5, nouvel onglet sur un lien profond, déconnexion
dans un onglet (l'autre redevient public à sa prochaine action), cookie effacé, jeton rejoué refusé ; captures de
la page Connexion à 1440 et 390 px."""

from __future__ import annotations

import shutil

import pytest
from parcours import (
    LARGEUR_ORDINATEUR,
    LARGEUR_TELEPHONE,
    MOT_DE_PASSE,
    ROLES,
    aller_a,
    attendre_calme,
    creer_comptes,
)
from outils import RACINE

SORTIES = RACINE / "tests" / "sorties"
FINANCEUR = next(r for r in ROLES if r.nom == "financeur")
CONNECTE = f"Connecté : {FINANCEUR.nom_affiche} (Financeur)"
PUBLIC = "Vue publique : opérations validées"


@pytest.fixture(scope="module")
def serveur_sessions(dossier_demo, demarrer_serveur, tmp_path_factory):
    """Un serveur pour le module (chaque test ouvre et ferme ses propres sessions) sur une copie de la démo."""
    copie = tmp_path_factory.mktemp("sessions") / "demo"
    shutil.copytree(dossier_demo, copie)
    creer_comptes(copie)
    return demarrer_serveur(copie), copie


def _operation_non_validee(dossier) -> tuple[int, str]:
    from donnees.magasin import Magasin

    magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
    try:
        operations = magasin.lire_operations()
    finally:
        magasin.fermer()
    ligne = operations[operations["validation"] != "validee"].iloc[0]
    return int(ligne["id"]), str(ligne["nom"])


def _barre(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def _attendre_barre(page, texte: str) -> None:
    page.locator("[data-testid='stSidebar']").get_by_text(texte).first.wait_for(timeout=60_000)
    attendre_calme(page)


def _cookie(contexte) -> dict | None:
    return next((c for c in contexte.cookies() if c["name"] == "desimper_session" and c["value"]), None)


def _se_connecter(page, url: str) -> None:
    page.goto(url + "/connexion", wait_until="domcontentloaded")
    page.get_by_label("Adresse électronique").wait_for(timeout=90_000)
    page.get_by_label("Adresse électronique").fill(FINANCEUR.email)
    page.get_by_label("Mot de passe").fill(MOT_DE_PASSE)
    page.get_by_role("button", name="Se connecter").click()
    _attendre_barre(page, CONNECTE)


def test_session_tient_au_rechargement_et_aux_onglets(navigateur, serveur_sessions):
    url, dossier = serveur_sessions
    ident, nom = _operation_non_validee(dossier)
    contexte = navigateur.new_context(viewport={"width": LARGEUR_ORDINATEUR, "height": 1000}, locale="fr-FR")
    try:
        onglet = contexte.new_page()
        erreurs: list[str] = []
        onglet.on("pageerror", lambda exc: erreurs.append(str(exc)))
        _se_connecter(onglet, url)
        cookie = _cookie(contexte)
        assert cookie is not None, contexte.cookies()
        assert (cookie["path"], cookie["sameSite"], cookie["secure"]) == ("/", "Strict", False)  # HTTP local
        assert cookie["value"] not in onglet.url and len(cookie["value"]) == 43

        onglet.reload(wait_until="domcontentloaded")  # F5
        _attendre_barre(onglet, CONNECTE)

        second = contexte.new_page()  # nouvel onglet sur un lien profond, opération non validée
        second.goto(f"{url}/fiche?id={ident}", wait_until="domcontentloaded")
        _attendre_barre(second, CONNECTE)
        fiche = second.locator("[data-testid='stMain']").inner_text()
        assert nom in fiche and "validation : à valider" in fiche  # non validée : lisible connecté seulement

        aller_a(onglet, "Connexion")
        onglet.get_by_role("button", name="Se déconnecter", exact=True).click()
        _attendre_barre(onglet, PUBLIC)
        onglet.wait_for_timeout(500)
        assert _cookie(contexte) is None  # cookie effacé

        aller_a(second, "Opérations")  # prochaine action dans l'autre onglet : vue publique
        _attendre_barre(second, PUBLIC)
        assert CONNECTE not in _barre(second)

        rejeu = navigateur.new_context(viewport={"width": LARGEUR_ORDINATEUR, "height": 1000}, locale="fr-FR")
        try:  # le jeton volé puis rejoué après la déconnexion est refusé
            rejeu.add_cookies([{**cookie, "sameSite": "Strict"}])
            page = rejeu.new_page()
            page.goto(f"{url}/fiche?id={ident}", wait_until="domcontentloaded")
            _attendre_barre(page, PUBLIC)
        finally:
            rejeu.close()
        assert not erreurs, erreurs
    finally:
        contexte.close()


@pytest.mark.parametrize("largeur", [LARGEUR_ORDINATEUR, LARGEUR_TELEPHONE])
def test_captures_de_la_page_connexion(navigateur, serveur_sessions, largeur):
    url, _ = serveur_sessions
    contexte = navigateur.new_context(viewport={"width": largeur, "height": 1000}, locale="fr-FR")
    try:
        page = contexte.new_page()
        page.goto(url + "/connexion", wait_until="domcontentloaded")
        page.get_by_label("Adresse électronique").wait_for(timeout=90_000)
        attendre_calme(page)
        SORTIES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SORTIES / f"connexion-public-{largeur}.png"), full_page=True)
        page.get_by_label("Adresse électronique").fill(FINANCEUR.email)
        page.get_by_label("Mot de passe").fill(MOT_DE_PASSE)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_role("button", name="Se déconnecter de tous les appareils").wait_for(timeout=60_000)
        attendre_calme(page)
        assert _cookie(contexte) is not None  # posé aussi quand la barre latérale est repliée (téléphone)
        page.screenshot(path=str(SORTIES / f"connexion-connecte-{largeur}.png"), full_page=True)
        boutons = [page.get_by_role("button", name=nom, exact=True).bounding_box()
                   for nom in ("Se déconnecter", "Se déconnecter de tous les appareils")]
        assert all(b and b["x"] >= 0 and b["x"] + b["width"] <= largeur for b in boutons)  # rien ne déborde
    finally:
        contexte.close()
