"""Plusieurs territoires dans une instance (issue 14, point 1) : registre instance.json, migration d'un dossier à
territoire unique, territoire actif, `desimper territoire lister|ajouter`, droits par territoire, chiffres de la
vue inter-territoires."""

from __future__ import annotations

import json
import shutil

import pytest

import cli
from donnees.comptes import Utilisateur, creer_compte
from donnees.config import dans_territoire, dossier_donnees, url_base
from donnees.droits import ErreurDroits, MagasinProtege
from donnees.droits.territoires import lire_utilisateur_territoire, montants_visibles
from donnees.erreurs import ErreurDonnees
from donnees.instance import chemin_instance, lister_territoires, preparer_ajout, trouver_territoire
from donnees.magasin import Magasin
from donnees.sessions import ouvrir_session

MOT_DE_PASSE = "une phrase de passe solide"


@pytest.fixture(scope="module")
def instance(dossier_demo, tmp_path_factory, request):
    """Instance à deux territoires : « thau » (copie de la démonstration, dossier de l'instance, migré par
    `territoire ajouter`) et « etang » (démonstration « petite », graine 11, ajoutée par la commande)."""
    racine = tmp_path_factory.mktemp("instance")
    thau = racine / "thau"
    shutil.copytree(dossier_demo, thau)
    surveillance = pytest.MonkeyPatch()
    request.addfinalizer(surveillance.undo)
    surveillance.setenv("DESIMPER_DONNEES", str(thau))
    surveillance.delenv("DESIMPER_BASE_URL", raising=False)
    surveillance.delenv("DESIMPER_INSTANCE", raising=False)
    assert cli.main(["territoire", "ajouter", "--code", "etang", "--nom", "Étang de test", "--dossier", "../etang",
                     "--demo", "petite", "--graine", "11", "--code-existant", "thau",
                     "--sans-modeles"]) == 0
    return racine


def test_sans_registre_rien_ne_change(dossier_demo, monkeypatch):
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier_demo))
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    monkeypatch.delenv("DESIMPER_INSTANCE", raising=False)
    assert not chemin_instance().exists()
    (unique,) = lister_territoires()
    assert unique.code == "principal" and unique.dossier == dossier_demo.resolve() and unique.defaut
    assert dossier_donnees() == dossier_demo.resolve()
    assert url_base() == f"sqlite:///{(dossier_demo.resolve() / 'desimper.sqlite').as_posix()}"
    with pytest.raises(ErreurDonnees, match="n'a qu'un territoire"):
        cli._activer_territoire_cli(type("Args", (), {"territoire": "thau"})())


def test_instance_neuve_sans_territoire_existant(tmp_path, monkeypatch):
    """DESIMPER_INSTANCE sur un dossier vide : le registre commence par le territoire ajouté."""
    monkeypatch.setenv("DESIMPER_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DESIMPER_DONNEES", str(tmp_path))
    instance, nouveau = preparer_ajout("berre", "Étang de Berre", "berre")
    assert [t.code for t in instance.territoires] == ["berre"] and instance.defaut == "berre"
    assert nouveau.dossier == (tmp_path / "berre").resolve() and instance.territoires[0].dossier == "berre"


def test_migration_enregistre_le_dossier_existant_sans_rien_deplacer(instance, dossier_demo):
    thau, etang = instance / "thau", instance / "etang"
    registre = json.loads((thau / "instance.json").read_text(encoding="utf-8"))
    assert registre["defaut"] == "thau"
    assert [(t["code"], t["dossier"]) for t in registre["territoires"]] == [("thau", "."),
                                                                           ("etang", etang.resolve().as_posix())]
    # Rien déplacé, rien d'autre écrit (fichiers -wal/-shm de SQLite : présents tant qu'une connexion est ouverte
    # sur la démo partagée par les tests de ce processus).
    def _noms(dossier):
        return sorted(p.name for p in dossier.iterdir() if p.name != "instance.json"
                      and not p.name.endswith(("-wal", "-shm")))

    assert _noms(dossier_demo) == _noms(thau)
    assert json.loads((etang / "territoire.json").read_text(encoding="utf-8"))["nom"] == "Étang de test"


def test_territoire_actif_change_dossier_et_base(instance):
    thau, etang = trouver_territoire("thau"), trouver_territoire("etang")
    assert trouver_territoire(None) == thau
    with dans_territoire(etang.actif):
        assert dossier_donnees() == etang.dossier and url_base() == etang.url
        with dans_territoire(thau.actif):
            assert dossier_donnees() == thau.dossier
        assert url_base() == etang.url != thau.url
    assert dossier_donnees() == thau.dossier  # hors bloc : l'environnement


def test_lister_et_option_territoire(instance, capsys):
    assert cli.main(["territoire", "lister"]) == 0
    sortie = capsys.readouterr().out
    lignes = [ligne for ligne in sortie.splitlines() if " SQLite " in ligne]
    assert len(lignes) == 2 and lignes[0].startswith("*") and "Étang de test" in lignes[1]
    for territoire in lister_territoires():
        magasin = Magasin(territoire.url)
        operations = magasin.compter()["operation"]
        magasin.fermer()
        ligne = next(ligne for ligne in lignes if f" {territoire.code} " in ligne)
        assert ligne.split()[-2:] == ["25", str(operations)]
    email = "seulement.etang@exemple.fr"
    assert cli.main(["--territoire", "etang", "utilisateur", "creer", "--email", email, "--nom", "E", "--role",
                     "financeur", "--mot-de-passe", MOT_DE_PASSE]) == 0
    capsys.readouterr()
    assert cli.main(["--territoire", "etang", "utilisateur", "lister"]) == 0
    assert email in capsys.readouterr().out
    assert cli.main(["utilisateur", "lister"]) == 0  # territoire par défaut : thau
    assert email not in capsys.readouterr().out
    assert dossier_donnees() == trouver_territoire("thau").dossier  # la commande a rétabli le territoire actif
    assert cli.main(["--territoire", "inconnu", "territoire", "lister"]) == 2
    assert "Territoire « inconnu » inconnu dans cette instance. Territoires : thau, etang" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["--code", "Étang 2", "--nom", "X", "--dossier", "../x"], "Code de territoire « Étang 2 » invalide"),
    (["--code", "etang", "--nom", "X", "--dossier", "../x"], "Le code « etang » est déjà pris par le territoire"),
    (["--code", "autre", "--nom", "X", "--dossier", "../etang"], "est déjà celui du territoire « Étang de test »"),
    (["--code", "autre", "--nom", " ", "--dossier", "../x"], "Nom du territoire vide"),
    (["--code", "autre", "--nom", "X", "--dossier", "../vide"], "ne contient pas de territoire"),
    (["--code", "autre", "--nom", "X", "--dossier", "../x", "--insee", "99999"], "Codes INSEE invalides"),
])
def test_ajout_refuse_sans_rien_ecrire(instance, capsys, arguments, message):
    avant = chemin_instance().read_bytes()
    assert cli.main(["territoire", "ajouter", *arguments]) == 2
    assert message in capsys.readouterr().err
    assert chemin_instance().read_bytes() == avant
    assert not (instance / "x").exists() or not any((instance / "x").iterdir())


def test_meme_base_refusee_pour_deux_territoires(instance):
    url = "postgresql+psycopg://u@h/base"
    nouvelle, _ = preparer_ajout("a", "A", "../a", url)
    from donnees.instance import enregistrer_instance

    sauvegarde = chemin_instance().read_bytes()
    try:
        enregistrer_instance(nouvelle)
        with pytest.raises(ErreurDonnees, match="est déjà celle du territoire « A »"):
            preparer_ajout("b", "B", "../b", url)
    finally:
        chemin_instance().write_bytes(sauvegarde)


def _operation_de(territoire, code_insee: str) -> dict:
    magasin = Magasin(territoire.url)
    try:
        operations = magasin.lire_operations()
        ligne = operations[operations["code_insee"].eq(code_insee)].iloc[0]
        return magasin.lire_operation(int(ligne["id"]))
    finally:
        magasin.fermer()


def test_un_referent_de_a_ne_peut_rien_ecrire_dans_b(instance):
    """Couche de données : la façade de B relit le compte dans la base de B ; la session de A y est inconnue."""
    thau, etang = trouver_territoire("thau"), trouver_territoire("etang")
    referent = Utilisateur("referent.a@sete.fr", "Réf A", "referent", frozenset({"34301"}))
    base_a, base_b = Magasin(thau.url), Magasin(etang.url)
    try:
        creer_compte(base_a, referent.email, referent.nom, "referent", ["34301"], MOT_DE_PASSE, auteur="test")
        operation = _operation_de(etang, "34301")
        facade_b = MagasinProtege(base_b, referent)
        with dans_territoire(etang.actif):
            with pytest.raises(ErreurDroits, match="Connectez-vous pour modifier"):
                facade_b.modifier_operation(operation["id"], operation["version"], {"nom": "Écrit depuis A"})
            with pytest.raises(ErreurDroits, match="Connectez-vous pour créer"):
                facade_b.creer_operation({**operation, "id": None})
        assert _operation_de(etang, "34301")["nom"] == operation["nom"]
        jeton_a = ouvrir_session(base_a, referent)
        assert lire_utilisateur_territoire(base_a, jeton_a).email == referent.email
        assert lire_utilisateur_territoire(base_b, jeton_a).est_visiteur  # session de A inconnue de B
        # même adresse, compte financeur dans B : lecture seule dans B, jamais les droits de référent de A
        creer_compte(base_b, referent.email, referent.nom, "financeur", [], MOT_DE_PASSE, auteur="test")
        with dans_territoire(etang.actif), pytest.raises(ErreurDroits, match="Financeur"):
            facade_b.modifier_operation(operation["id"], operation["version"], {"nom": "Écrit depuis A"})
    finally:
        base_a.fermer()
        base_b.fermer()


def test_chiffres_par_territoire_avec_les_droits_du_territoire(instance):
    """Chiffres publics = ceux de `desimper indicateurs` (même sélection, mêmes services) ; montants seulement
    pour un compte qui les voit dans ce territoire."""
    from services.indicateurs import SELECTION_MODELES, calculer_indicateurs_territoire
    from services.territoires import CHIFFRES_PUBLICS, calculer_chiffres_territoire

    public = Utilisateur("", "", "visiteur")
    financeur = Utilisateur("f@agence.fr", "F", "financeur")
    assert not montants_visibles(public) and montants_visibles(financeur)
    etang = trouver_territoire("etang")
    with dans_territoire(etang.actif):  # `desimper --territoire etang indicateurs --sans-grille`
        attendu = calculer_indicateurs_territoire(etang.dossier, SELECTION_MODELES, avec_grille=False)
    bassin = attendu.set_index("territoire").loc["bassin"]
    anonyme = calculer_chiffres_territoire(etang, public)
    assert anonyme.montants is None and anonyme.aides is None and anonyme.communes == 25
    for code in CHIFFRES_PUBLICS:
        assert anonyme.chiffres[code] == pytest.approx(float(bassin[code]), nan_ok=True)
    detail = calculer_chiffres_territoire(etang, financeur)
    assert detail.chiffres == anonyme.chiffres
    assert detail.montants["montant_aides"] == pytest.approx(float(bassin["montant_aides"]))
    assert detail.aides["montant_aides"].sum() == pytest.approx(float(bassin["montant_aides"]))
    thau = calculer_chiffres_territoire(trouver_territoire("thau"), public)
    # deux registres différents (graines 7 et 11)
    assert thau.chiffres["surface_desimpermeabilisee"] != anonyme.chiffres["surface_desimpermeabilisee"]


def test_territoire_illisible_donne_un_message(instance, tmp_path):
    from donnees.instance import TerritoireInstance
    from services.territoires import calculer_chiffres_territoire

    vide = TerritoireInstance("vide", "Vide", tmp_path)
    resultat = calculer_chiffres_territoire(vide, Utilisateur("", "", "visiteur"))
    assert resultat.chiffres == {} and "Aucun territoire dans le dossier de données" in resultat.erreur


def test_scenarios_d_un_territoire_dans_la_vue_inter_territoires(instance):
    """Un financeur du territoire lit les chiffres de tête de ses scénarios (sites, surface, volume, coût estimé
    par la médiane du registre du territoire) ; le public n'en voit rien."""
    from services.scenarios import construire_sites_parcelles
    from services.territoires import calculer_chiffres_territoire

    etang = trouver_territoire("etang")
    base = Magasin(etang.url)
    try:
        base.creer_tables()
        creer_compte(base, "f@agence.fr", "F", "financeur", [], MOT_DE_PASSE, auteur="test")
        with dans_territoire(etang.actif):
            from services.potentiel import calculer_potentiel_commune

            potentiel = calculer_potentiel_commune("34301", etang.dossier)
            ids = potentiel.sort_values("score_potentiel", ascending=False)["id"].head(3).tolist()
            sites = construire_sites_parcelles("34301", ids, "pelouse", 2030, "parking", etang.dossier)
        scenario = base.creer_scenario("Parkings", None, "admin@etang.fr")
        base.ajouter_sites(scenario, sites, "admin@etang.fr")
        surface = float(base.lire_sites(scenario)["surface_m2"].sum())
    finally:
        base.fermer()
    financeur = Utilisateur("f@agence.fr", "F", "financeur")
    resultat = calculer_chiffres_territoire(etang, financeur)
    ligne = resultat.scenarios.set_index("scenario").loc["Parkings"]
    assert ligne["nombre_sites"] == 3 and ligne["surface_desimpermeabilisee"] == pytest.approx(surface)
    assert ligne["volume_infiltre"] > 0 and ligne["cout_estime"] > 0
    assert calculer_chiffres_territoire(etang, Utilisateur("", "", "visiteur")).scenarios is None
