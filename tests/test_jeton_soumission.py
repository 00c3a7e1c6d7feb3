"""Une soumission du formulaire, une opération : le jeton de soumission vérifié par le magasin (index
unique + relecture), sous SQLite et PostgreSQL, y compris en concurrence ; et par la façade et le service
de saisie (photos d'un second envoi retirées)."""

from __future__ import annotations

import threading
import uuid

import pytest

from donnees.comptes import Utilisateur
from donnees.droits import MagasinProtege
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin
from donnees.magasin.noyau import Magasin as ClasseMagasin
from services.saisie import PhotoDeposee, enregistrer_saisie
from test_magasin import operation_type

REFERENT = Utilisateur("ref@sete.fr", "Référente", "referent", frozenset({"34301"}))


def image_png() -> bytes:
    """Petite image PNG lisible (4 × 4 pixels verts)."""
    import io

    from PIL import Image

    tampon = io.BytesIO()
    Image.new("RGB", (4, 4), (40, 160, 60)).save(tampon, format="PNG")
    return tampon.getvalue()


def test_meme_jeton_deux_fois_une_seule_operation(magasin):
    jeton = str(uuid.uuid4())
    premier = magasin.soumettre_operation(operation_type(), "ref@sete.fr", jeton)
    second = magasin.soumettre_operation(operation_type(nom="Autre nom"), "ref@sete.fr", jeton)
    assert premier == (premier[0], True) and second == (premier[0], False)
    assert magasin.creer_operation(operation_type(), "ref@sete.fr", jeton) == premier[0]
    assert magasin.compter()["operation"] == 1 and magasin.compter()["journal"] == 1
    assert magasin.lire_operation(premier[0])["nom"] == "Cour de l'école Jules-Ferry"  # le premier envoi gagne
    assert "jeton_soumission" not in magasin.lire_operation(premier[0])
    assert "jeton_soumission" not in magasin.lire_operations().columns


def test_jetons_differents_ou_absents_creent_chacun_une_operation(magasin):
    magasin.creer_operation(operation_type(), "a@b.fr", str(uuid.uuid4()))
    magasin.creer_operation(operation_type(), "a@b.fr", str(uuid.uuid4()))
    magasin.creer_operation(operation_type(), "a@b.fr")
    magasin.creer_operation(operation_type(), "a@b.fr")  # sans jeton : pas de contrôle (import, démo)
    assert magasin.compter()["operation"] == 4


@pytest.mark.parametrize("jeton", ["", "court", "a b c d e f g h", "x" * 65, 12345678])
def test_jeton_mal_forme_refuse_en_francais(magasin, jeton):
    with pytest.raises(ErreurDonnees, match="Jeton de soumission illisible"):
        magasin.creer_operation(operation_type(), "a@b.fr", jeton)
    assert magasin.compter()["operation"] == 0


def test_jeton_d_un_autre_compte_refuse(magasin):
    jeton = str(uuid.uuid4())
    magasin.creer_operation(operation_type(), "a@b.fr", jeton)
    with pytest.raises(ErreurDonnees, match="déjà servi.*autre compte"):
        magasin.creer_operation(operation_type(), "c@d.fr", jeton)
    assert magasin.compter()["operation"] == 1


def test_envois_simultanes_du_meme_jeton_une_seule_operation(magasin):
    """Huit fils, chacun avec sa connexion, envoient le même jeton au même instant."""
    jeton, resultats, erreurs = str(uuid.uuid4()), [], []
    depart = threading.Barrier(8)

    def envoyer() -> None:
        m = Magasin(magasin.url)
        try:
            depart.wait()
            resultats.append(m.soumettre_operation(operation_type(), "ref@sete.fr", jeton))
        except Exception as exc:  # noqa: BLE001 - remontée au fil principal et vérifiée ci-dessous
            erreurs.append(exc)
        finally:
            m.fermer()

    fils = [threading.Thread(target=envoyer) for _ in range(8)]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert not erreurs
    assert len({ident for ident, _ in resultats}) == 1 and len(resultats) == 8
    assert sum(creee for _, creee in resultats) == 1
    assert magasin.compter()["operation"] == 1 and magasin.compter()["zone"] == 2


def test_course_perdue_relue_apres_violation_d_unicite(magasin, monkeypatch):
    """L'autre envoi a écrit entre notre lecture et notre insertion : l'index unique refuse la nôtre, et la
    relecture rend l'opération de l'autre envoi (chemin de PostgreSQL, forcé ici sur les deux moteurs)."""
    jeton = str(uuid.uuid4())
    premier = magasin.creer_operation(operation_type(), "ref@sete.fr", jeton)
    original = ClasseMagasin._retrouver_soumission
    appels = []

    def aveugle_une_fois(self, conn, jeton_, auteur):
        appels.append(jeton_)
        return None if len(appels) == 1 else original(self, conn, jeton_, auteur)

    monkeypatch.setattr(ClasseMagasin, "_retrouver_soumission", aveugle_une_fois)
    assert magasin.soumettre_operation(operation_type(), "ref@sete.fr", jeton) == (premier, False)
    assert len(appels) == 2
    assert magasin.compter()["operation"] == 1 and magasin.compter()["journal"] == 1


def test_service_de_saisie_double_envoi_une_operation_et_photos_du_second_retirees(magasin, tmp_path):
    facade = MagasinProtege(magasin, REFERENT, noms_communes={"34301": "Sète"})
    magasin.creer_utilisateur("ref@sete.fr", "Référente", "referent", ["34301"], None, auteur="test")
    operation = {k: v for k, v in operation_type().items() if k not in ("validation", "commentaire_validation",
                                                                          "photos")}
    jeton, dossier = str(uuid.uuid4()), tmp_path / "donnees"
    photo = PhotoDeposee(image_png(), "cour.png", "avant")
    ident, message = enregistrer_saisie(facade, operation, [photo], [], dossier, jeton_soumission=jeton)
    encore, _ = enregistrer_saisie(facade, operation, [photo], [], dossier, jeton_soumission=jeton)
    assert encore == ident and f"Opération n° {ident} enregistrée" in message
    assert magasin.compter()["operation"] == 1
    gardees = magasin.lire_operation(ident)["photos"]
    assert len(gardees) == 1
    fichiers = [p for p in dossier.rglob("*") if p.is_file()]
    assert [p.relative_to(dossier).as_posix() for p in fichiers] == [gardees[0]["chemin"]]
