"""Annuaire et pairs dans l'application (AppTest, issue 16 partie 4) : le public n'a pas la page et ne voit aucun nom
dans « Qui l'a fait avant moi ? » ; un référent crée sa fiche (consentement explicite) puis la voit dans l'annuaire ;
un texte hostile s'affiche en texte ; un membre connecté voit les référents consentants des communes paires ; le
retrait efface la fiche ; la page Commune mène au même service par type de site."""

from __future__ import annotations

import pytest
from outils import lancer_appli

from donnees.comptes import VISITEUR, creer_compte
from donnees.config import url_base
from donnees.droits import MagasinProtege
from donnees.magasin import Magasin
from pages.commun import lister_pages
from services.pairs import chercher_pairs

MOT_DE_PASSE = "une phrase de passe solide"
HOSTILE = "<script>alert('x')</script> **gras** [piège](javascript:alert(1)) ![img](http://pirate.invalid/x.png)"
PAGE = "pages/annuaire.py"


@pytest.fixture
def monde(dossier_demo_copie):
    """Une opération validée qui a des pairs ; un référent de la commune du premier pair, avec une fiche consentie ;
    un référent d'une autre commune, sans fiche ; un financeur."""
    magasin = Magasin(url_base(dossier_demo_copie))
    magasin.creer_tables()
    public = MagasinProtege(magasin, VISITEUR)
    operations = magasin.lire_operations()
    validees = operations[operations["validation"].eq("validee") & operations["statut"].eq("realisee")]
    for ident in validees.sort_values("id")["id"].astype(int):
        resultat = chercher_pairs(public, operation_id=ident)
        if resultat is not None and not resultat.pairs.empty:
            break
    pair = resultat.pairs.iloc[0]
    commune_operation = str(validees.set_index("id").loc[ident, "code_insee"])
    autre = next(c for c in sorted(operations["code_insee"].unique())
                 if c not in (pair["code_insee"], commune_operation))
    comptes = {
        "pair": creer_compte(magasin, "ref@pair.fr", "Paula Pair", "referent", [pair["code_insee"]], MOT_DE_PASSE,
                             auteur="test"),
        "autre": creer_compte(magasin, "ref@autre.fr", "Octave Autre", "referent", [autre], MOT_DE_PASSE,
                              auteur="test"),
        "fin": creer_compte(magasin, "fin@agence.fr", "Fanny Financeuse", "financeur", [], MOT_DE_PASSE,
                            auteur="test")}
    magasin.ecrire_fiche_annuaire("ref@pair.fr", True, {"fonction": "Cheffe de projet", "telephone": "04 67 12 34 56",
                                                        "email_visible": True}, "ref@pair.fr")
    yield magasin, comptes, ident, pair
    magasin.fermer()


def _page(monkeypatch, dossier, compte, chemin, **parametres):
    appli = lancer_appli(monkeypatch, dossier, compte)
    for cle, valeur in parametres.items():
        appli.query_params[cle] = valeur
    appli.switch_page(chemin).run()
    assert not appli.exception, appli.exception
    return appli


def _textes(appli) -> str:
    return "\n".join([m.value for m in appli.markdown] + [c.value for c in appli.caption]
                     + [t.value for t in appli.text] + [i.value for i in appli.info])


def test_public_sans_annuaire_ni_nom_dans_qui_l_a_fait_avant_moi(monkeypatch, dossier_demo_copie, monde):
    _, _, ident, pair = monde
    pages = {p["chemin"]: p["visible"] for p in lister_pages(VISITEUR)}
    assert pages[PAGE] is False
    annuaire = _page(monkeypatch, dossier_demo_copie, None, PAGE)
    assert any("réservé aux membres connectés" in i.value for i in annuaire.info)
    assert "Paula" not in _textes(annuaire) and not annuaire.text_input

    fiche = _page(monkeypatch, dossier_demo_copie, None, "pages/fiche.py", id=str(ident))
    assert any(s.value == "Qui l'a fait avant moi ?" for s in fiche.subheader)
    textes = _textes(fiche)
    assert pair["explication"].split(",")[0] in textes  # « même type (…) » : communes et chiffres publics
    assert "Paula" not in textes and "ref@pair.fr" not in textes and "04 67 12" not in textes
    assert "réservés aux membres connectés" in textes
    assert "€" not in "".join(c.value for c in fiche.caption if "même type" in c.value)


def test_membre_connecte_voit_les_referents_consentants_des_pairs(monkeypatch, dossier_demo_copie, monde):
    _, comptes, ident, pair = monde
    fiche = _page(monkeypatch, dossier_demo_copie, comptes["fin"], "pages/fiche.py", id=str(ident))
    textes = _textes(fiche)
    assert "Référent : **Paula Pair** · Cheffe de projet · [ref@pair.fr](mailto:ref@pair.fr) · " \
           "[04 67 12 34 56](tel:0467123456)" in textes
    assert "Octave" not in textes  # pas de fiche : n'apparaît pas
    assert {p["chemin"]: p["visible"] for p in lister_pages(comptes["fin"])}[PAGE] is True


def test_referent_cree_sa_fiche_la_voit_puis_la_retire(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, _, _ = monde
    appli = _page(monkeypatch, dossier_demo_copie, comptes["autre"], PAGE)
    assert "Octave" not in _textes(appli) and "Paula Pair" in _textes(appli)
    appli.session_state["annuaire_section"] = "Ma fiche"
    appli.run()
    assert any("ne figurez pas dans l'annuaire" in i.value for i in appli.info)
    appli.text_input(key="annuaire_fonction").input("Technicien voirie")
    appli.text_area(key="annuaire_presentation").input(HOSTILE + "\nDeuxième ligne")
    appli.button(key="FormSubmitter:annuaire_ma_fiche-Enregistrer ma fiche").click().run()
    assert any("case de consentement" in e.value for e in appli.error)  # sans la case : rien d'écrit
    assert magasin.lire_fiche_annuaire("ref@autre.fr") is None
    appli.checkbox(key="annuaire_consentement").check()
    appli.multiselect(key="annuaire_sujets").set_value(["voirie", "sols"])
    appli.button(key="FormSubmitter:annuaire_ma_fiche-Enregistrer ma fiche").click().run()
    assert not appli.exception, appli.exception
    assert any("Fiche enregistrée" in s.value for s in appli.success), [e.value for e in appli.error]

    appli.session_state["annuaire_section"] = "Membres"
    appli.run()
    textes = _textes(appli)
    assert "**Octave Autre** · Référent commune" in textes and "Technicien voirie" in textes
    assert any(t.value == HOSTILE + "\nDeuxième ligne" for t in appli.text)  # st.text : jamais interprété
    assert not any("<script>" in m.value or "](javascript" in m.value for m in appli.markdown)
    assert "ref@autre.fr" not in textes  # adresse non rendue visible
    appli.text_input(key="annuaire_recherche").input("voirie").run()
    assert "Octave Autre" in _textes(appli) and "Paula Pair" not in _textes(appli)

    appli.session_state["annuaire_section"] = "Ma fiche"
    appli.run()
    next(b for b in appli.button if b.label == "Retirer ma fiche de l'annuaire").click().run()
    assert any("Fiche retirée" in s.value for s in appli.success)
    assert magasin.lire_fiche_annuaire("ref@autre.fr")["presentation"] is None
    appli.session_state["annuaire_section"] = "Membres"
    appli.run()
    appli.text_input(key="annuaire_recherche").input("").run()
    assert "Octave" not in _textes(appli)


def test_syndicat_masque_une_fiche(monkeypatch, dossier_demo_copie, monde):
    magasin, comptes, _, _ = monde
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MOT_DE_PASSE, auteur="test")
    appli = _page(monkeypatch, dossier_demo_copie, admin, PAGE)
    fiche = int(magasin.lire_fiches_annuaire()["id"].iloc[0])
    appli.text_input(key=f"annuaire_motif_{fiche}").input("Numéro personnel")
    appli.button(key=f"annuaire_masquer_{fiche}").click().run()
    assert any("Fiche masquée" in s.value for s in appli.success)
    assert magasin.lire_fiches_annuaire().empty
    financeur = _page(monkeypatch, dossier_demo_copie, comptes["fin"], PAGE)
    assert "Paula" not in _textes(financeur)


def test_page_commune_mene_aux_pairs_par_type_de_site(monkeypatch, dossier_demo_copie, monde):
    _, comptes, _, pair = monde
    appli = lancer_appli(monkeypatch, dossier_demo_copie, comptes["fin"])
    appli.switch_page("pages/commune.py").run()
    appli.session_state["commune_section"] = "Villes pairs"
    appli.run()
    assert not appli.exception, appli.exception
    assert any(s.value == "Qui l'a fait avant moi ?" for s in appli.subheader)
    appli.selectbox(key="commune_pairs_type").set_value(pair["type_site"]).run()
    assert not appli.exception, appli.exception
    assert any("même type" in c.value for c in appli.caption)


def test_lien_ma_fiche_depuis_la_page_connexion(monkeypatch, dossier_demo_copie, monde):
    _, comptes, _, _ = monde
    connexion = _page(monkeypatch, dossier_demo_copie, comptes["fin"], "pages/connexion.py")
    liens = [e for e in connexion.get("page_link") if "annuaire" in e.proto.label]
    assert liens and liens[0].proto.page == "annuaire" and liens[0].proto.query_string == "section=ma-fiche"
    appli = _page(monkeypatch, dossier_demo_copie, comptes["fin"], PAGE, section="ma-fiche")
    assert any("ne figurez pas dans l'annuaire" in i.value for i in appli.info)  # le financeur n'a pas de fiche
    public = _page(monkeypatch, dossier_demo_copie, None, "pages/connexion.py")
    assert not [e for e in public.get("page_link") if "annuaire" in e.proto.label]
