"""AppTest et fonctions : navigation selon les droits, file « À valider (n) » du syndicat, opérations « à
corriger » montrées au référent, page Commune ouverte sur sa commune, suppression après confirmation."""

from pathlib import Path

import pytest
from outils import lancer_appli
from streamlit.testing.v1 import AppTest

from donnees.comptes import VISITEUR, Utilisateur
from pages.commun import PAGES, lister_pages

APP = str(Path(__file__).resolve().parents[2] / "app.py")
MDP = "une phrase de passe solide"
RESERVEES = {"pages/a_valider.py", "pages/saisie.py", "pages/importer.py", "pages/administration.py"}
ROLES = {
    "public": VISITEUR,
    "financeur": Utilisateur("f@agence.fr", "F", "financeur", frozenset()),
    "referent": Utilisateur("r@sete.fr", "R", "referent", frozenset({"34301"})),
    "administrateur": Utilisateur("a@bassin.fr", "A", "administrateur", frozenset()),
}
# Pages réservées visibles dans la navigation de chaque rôle.
VISIBLES = {"public": set(), "financeur": set(), "referent": {"pages/saisie.py", "pages/importer.py"},
            "administrateur": RESERVEES}


@pytest.mark.parametrize("role", list(ROLES))
def test_navigation_selon_les_droits(role):
    pages = lister_pages(ROLES[role], 3 if role == "administrateur" else None)
    assert [p["chemin"] for p in pages] == [p[0] for p in PAGES]  # toutes routables (liens directs refusés)
    visibles = {p["chemin"] for p in pages if p["visible"]}
    assert visibles & RESERVEES == VISIBLES[role]
    assert {"pages/connexion.py", "pages/vue_ensemble.py", "pages/operations.py"} <= visibles
    titres = {p["chemin"]: p["titre"] for p in pages}
    assert titres["pages/a_valider.py"] == ("À valider (3)" if role == "administrateur" else "À valider")
    assert [p["chemin"] for p in pages if p["defaut"]] == ["pages/vue_ensemble.py"]


def _lancer(monkeypatch, dossier: Path, utilisateur=None) -> AppTest:
    return lancer_appli(monkeypatch, dossier, utilisateur)


def _commune_a_valider(dossier: Path) -> str:
    """Commune de la démonstration qui a le plus d'opérations réalisées à valider (celle du référent)."""
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    operations = magasin.lire_operations()
    magasin.fermer()
    retenues = operations[(operations["validation"] == "a_valider") & (operations["statut"] == "realisee")]
    assert len(retenues), "la démonstration a des opérations réalisées à valider"
    return str(retenues["code_insee"].value_counts().index[0])


def _comptes(dossier: Path, code_referent: str = "34301"):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    admin = creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MDP, auteur="test")
    referent = creer_compte(magasin, "referent@sete.fr", "Camille", "referent", [code_referent], MDP, auteur="test")
    return magasin, admin, referent


def test_liens_directs_toujours_refuses(monkeypatch, dossier_demo_copie):
    magasin, _admin, referent = _comptes(dossier_demo_copie)
    magasin.fermer()
    for utilisateur, chemin, refus in ((None, "pages/a_valider.py", "réservée au syndicat"),
                                       (None, "pages/saisie.py", "réservée"),
                                       (referent, "pages/a_valider.py", "réservée au syndicat"),
                                       (referent, "pages/administration.py", "réservée")):
        appli = _lancer(monkeypatch, dossier_demo_copie, utilisateur)
        appli.switch_page(chemin).run()
        assert not appli.exception, appli.exception
        assert any(refus in i.value for i in appli.info), (chemin, [i.value for i in appli.info])


def test_file_a_valider_puis_correction_lue_par_le_referent(monkeypatch, dossier_demo_copie):
    code = _commune_a_valider(dossier_demo_copie)
    magasin, admin, referent = _comptes(dossier_demo_copie, code)
    operations = magasin.lire_operations()
    attendues = operations[operations["validation"] == "a_valider"].sort_values("id")
    assert len(attendues) >= 2, "la démonstration a des opérations à valider"
    sete = attendues[attendues["code_insee"] == code]
    appli = _lancer(monkeypatch, dossier_demo_copie, admin)
    appli.switch_page("pages/a_valider.py").run()
    assert not appli.exception, appli.exception
    assert appli.title[0].value == "Opérations à valider"
    assert appli.selectbox(key="a_valider_choix").options == [f"n° {i} · {n}" for i, n in
                                                              zip(attendues["id"], attendues["nom"])]
    choisie = int(sete["id"].iloc[0])
    appli.selectbox(key="a_valider_choix").set_value(choisie).run()
    appli.text_area(key=f"commentaire_{choisie}").input("Le coût HT manque.").run()
    next(b for b in appli.button if b.key == f"correction_{choisie}").click().run()
    assert not appli.exception, appli.exception
    assert any(f"Correction demandée pour l'opération n° {choisie}" in s.value for s in appli.success)
    relue = magasin.lire_operation(choisie)
    assert relue["validation"] == "a_corriger" and relue["commentaire_validation"] == "Le coût HT manque."
    assert len(appli.selectbox(key="a_valider_choix").options) == len(attendues) - 1
    # Une autre, validée depuis la file.
    autre = int(attendues["id"][attendues["id"] != choisie].iloc[0])
    appli.selectbox(key="a_valider_choix").set_value(autre).run()
    next(b for b in appli.button if b.key == f"valider_{autre}").click().run()
    assert magasin.lire_operation(autre)["validation"] == "validee"

    # Le référent, à sa connexion, voit l'opération à corriger et le commentaire du syndicat.
    appli = _lancer(monkeypatch, dossier_demo_copie, referent)
    appli.switch_page("pages/connexion.py").run()
    assert not appli.exception, appli.exception
    assert any("à corriger" in w.value for w in appli.warning)
    assert any(t.value == "Commentaire du syndicat : Le coût HT manque." for t in appli.text)
    magasin.fermer()


def test_commune_ouverte_sur_celle_du_referent(monkeypatch, dossier_demo_copie):
    magasin, _admin, referent = _comptes(dossier_demo_copie)
    magasin.fermer()
    appli = _lancer(monkeypatch, dossier_demo_copie, referent)
    appli.switch_page("pages/commune.py").run()
    assert not appli.exception, appli.exception
    assert next(s for s in appli.selectbox if s.label == "Commune").value == "34301"
    public = _lancer(monkeypatch, dossier_demo_copie)
    public.switch_page("pages/commune.py").run()
    assert next(s for s in public.selectbox if s.label == "Commune").index == 0  # pas de commune à soi


def test_suppression_demande_confirmation(monkeypatch, dossier_demo_copie):
    code = _commune_a_valider(dossier_demo_copie)
    magasin, _admin, referent = _comptes(dossier_demo_copie, code)
    operations = magasin.lire_operations()
    choisie = int(operations[(operations["code_insee"] == code) & (operations["statut"] == "realisee")
                             & (operations["validation"] == "a_valider")]["id"].iloc[0])
    appli = _lancer(monkeypatch, dossier_demo_copie, referent)
    appli.switch_page("pages/operations.py").run()
    appli.selectbox(key="operations_choix").set_value(choisie).run()
    assert not appli.exception, appli.exception
    bouton = next(b for b in appli.button if b.key == f"supprimer_{choisie}")
    assert bouton.disabled  # tant que « Je confirme » n'est pas cochée (un clic y est impossible)
    assert magasin.lire_operation(choisie)["supprimee"] is False
    appli.checkbox(key=f"confirmer_suppression_{choisie}").check().run()
    bouton = next(b for b in appli.button if b.key == f"supprimer_{choisie}")
    assert not bouton.disabled
    bouton.click().run()
    assert not appli.exception, appli.exception
    assert magasin.lire_operation(choisie)["supprimee"] is True
    assert any(f"Opération n° {choisie} supprimée" in s.value for s in appli.success)
    magasin.fermer()
